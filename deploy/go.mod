module convoy/deploy

go 1.26.0
