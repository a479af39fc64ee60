// Command dispatcher-service delivers webhooks: it consumes delivery tasks,
// signs and posts each payload, and records every attempt.
package main

import (
	"convoy/core/envconf"
	"convoy/core/service"
	"convoy/dispatcher-service/internal/app"
	"convoy/dispatcher-service/internal/config"
)

func main() {
	service.Main("dispatcher-service", config.Load, func(c config.Config) envconf.Process { return c.Process }, app.Run)
}
