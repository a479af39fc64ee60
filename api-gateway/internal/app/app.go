// Package app is the gateway's composition root: it dials ingest-service,
// serves the HTTP API and, apart from it, the ops endpoints, and shuts down
// gracefully when its context ends.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"convoy/api-gateway/internal/config"
	"convoy/api-gateway/internal/console"
	"convoy/api-gateway/internal/httpapi"
	"convoy/api-gateway/internal/metrics"
	"convoy/api-gateway/internal/portalcsp"
	"convoy/core/ops"
	"convoy/core/service"
	"convoy/core/tracing"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const (
	// rpcTimeout bounds one request's ingest call, so a stuck ingest shows
	// up as 503 rather than as requests that never end.
	rpcTimeout = 30 * time.Second
	// maxRecvMsgBytes lifts gRPC's 4 MiB default: a page of 100 events
	// with payloads near the body cap is far larger.
	maxRecvMsgBytes   = 256 << 20
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Run serves until ctx is cancelled, then stops accepting connections and
// lets in-flight requests finish within cfg.ShutdownTimeout.
func Run(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	return Serve(ctx, cfg, log, ln)
}

// Serve is Run on a listener the caller opened; it closes ln.
func Serve(ctx context.Context, cfg config.Config, log *zap.Logger, ln net.Listener) error {
	dial := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsgBytes)),
	}
	if tracing.Enabled() {
		// A client span per call, its context sent to ingest.
		dial = append(dial, grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithFilter(filters.Not(filters.HealthCheck())))))
	}
	conn, err := grpc.NewClient(cfg.IngestAddr, dial...)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("dial ingest %s: %w", cfg.IngestAddr, err)
	}
	defer func() { _ = conn.Close() }()

	reg := ops.NewRegistry()
	healthClient := healthpb.NewHealthClient(conn)
	ingest := ingestv1.NewIngestServiceClient(conn)
	api := httpapi.New(httpapi.Options{
		MaxBodyBytes: cfg.MaxBodyBytes,
		PublicURL:    cfg.PublicURL,
		RPCTimeout:   rpcTimeout,
		Observe:      metrics.NewHTTP(reg).Observe,
	}, ingest, healthClient, log.Named("http"))

	// The ops endpoints have an address of their own, like every service's,
	// so that metrics and probes are never exposed on the public API port.
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOps()
	opsDone := make(chan error, 1)
	go func() {
		opsDone <- service.ServeOps(opsCtx, cfg.Process, reg, map[string]ops.Check{"ingest": ingestServing(healthClient)}, log)
	}()

	srv := &http.Server{
		Handler:           withConsole(api, console.New(console.Options{FrameAncestors: portalcsp.New(ingest).FrameAncestors})),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          zap.NewStdLog(log.Named("http_server")),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("api gateway listening", zap.String("http_addr", ln.Addr().String()), zap.String("ingest_addr", cfg.IngestAddr))

	select {
	case err := <-served:
		return fmt.Errorf("serve http: %w", err)
	case err := <-opsDone:
		_ = srv.Close()
		return fmt.Errorf("serve ops: %w", err)
	case <-ctx.Done():
	}

	log.Info("api gateway shutting down", zap.Duration("timeout", cfg.ShutdownWait))
	// Request contexts are not derived from ctx, so in-flight ingest calls
	// keep running while Shutdown drains them.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownWait)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("drain http: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	stopOps()
	if err := <-opsDone; err != nil {
		return fmt.Errorf("serve ops: %w", err)
	}
	log.Info("api gateway stopped")
	return nil
}

// withConsole serves the web console under /ui and everything else from
// the API, so the console shares the API's origin and needs no process of
// its own.
// A prefix test rather than a ServeMux, whose path cleaning would answer
// the API's unclean paths before the API's own JSON answers could.
func withConsole(api, ui http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/") {
			ui.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// ingestServing is the gateway's readiness: ingest answers the standard
// health check as SERVING.
func ingestServing(c healthpb.HealthClient) ops.Check {
	return func(ctx context.Context) error {
		res, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return fmt.Errorf("ingest health: %w", err)
		}
		if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("ingest is %s", res.GetStatus())
		}
		return nil
	}
}
