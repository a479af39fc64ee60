// Command scheduler-service re-enqueues retries when they are due, sweeps for
// lost work and deletes what retention policies expire.
package main

import (
	"convoy/core/envconf"
	"convoy/core/service"
	"convoy/scheduler-service/internal/app"
	"convoy/scheduler-service/internal/config"
)

func main() {
	service.Main("scheduler-service", config.Load, func(c config.Config) envconf.Process { return c.Process }, app.Run)
}
