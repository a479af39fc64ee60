module convoy/api-gateway

go 1.26.0
