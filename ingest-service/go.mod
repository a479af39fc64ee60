module convoy/ingest-service

go 1.26.0
