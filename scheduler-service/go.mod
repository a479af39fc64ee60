module convoy/scheduler-service

go 1.26.0
