package httpapi

import (
	"context"
	_ "embed"
	"net/http"

	"go.uber.org/zap"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

//go:embed openapi.json
var openapiDocument []byte

type healthView struct {
	Ingest string `json:"ingest"`
}

// readiness serves /health: ready only while ingest-service answers the
// standard health check (whole server, service "") as SERVING. The ops
// address's /readyz asks ingest the same (package app).
func (a *API) readiness(ctx context.Context, r *http.Request) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.HealthTimeout)
	defer cancel()
	res, err := a.health.Check(ctx, &healthpb.HealthCheckRequest{})
	switch {
	case err != nil:
		a.log.Warn("ingest health check failed", zap.String("request_id", requestIDFrom(r.Context())), zap.Error(err))
		return nil, &httpError{status: http.StatusServiceUnavailable, message: "ingest service unreachable"}
	case res.GetStatus() != healthpb.HealthCheckResponse_SERVING:
		a.log.Warn("ingest not serving", zap.String("request_id", requestIDFrom(r.Context())), zap.Stringer("ingest_status", res.GetStatus()))
		return nil, &httpError{status: http.StatusServiceUnavailable, message: "ingest service is " + res.GetStatus().String()}
	}
	return healthView{Ingest: res.GetStatus().String()}, nil
}

func (a *API) openapi(context.Context, *http.Request) (any, error) {
	return rawDocument{contentType: "application/json", body: openapiDocument}, nil
}
