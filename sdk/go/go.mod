module convoy/sdk

go 1.26.0
