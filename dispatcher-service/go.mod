module convoy/dispatcher-service

go 1.26.0
