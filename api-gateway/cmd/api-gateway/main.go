// Command api-gateway serves Convoy's HTTP/JSON API by translating each
// request into a call to ingest-service over gRPC.
package main

import (
	"convoy/api-gateway/internal/app"
	"convoy/api-gateway/internal/config"
	"convoy/core/envconf"
	"convoy/core/service"
)

func main() {
	service.Main("api-gateway", config.Load, func(c config.Config) envconf.Process { return c.Process }, app.Run)
}
