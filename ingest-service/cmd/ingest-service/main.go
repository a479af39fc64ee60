// Command ingest-service serves the gRPC API that stores groups,
// applications, endpoints, events and deliveries, and queues deliveries.
package main

import (
	"convoy/core/envconf"
	"convoy/core/service"
	"convoy/ingest-service/internal/app"
	"convoy/ingest-service/internal/config"
)

func main() {
	service.Main("ingest-service", config.Load, func(c config.Config) envconf.Process { return c.Process }, app.Run)
}
