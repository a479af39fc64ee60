// Package app is ingest-service's composition root: it connects to MongoDB
// and NATS, then serves the gRPC API until the context ends.
package app

import (
	"context"
	"fmt"
	"net"
	"time"

	"convoy/core/metaevent"
	"convoy/core/queue"
	"convoy/core/service"
	"convoy/core/tracing"
	"convoy/ingest-service/internal/apirate"
	"convoy/ingest-service/internal/auth"
	"convoy/ingest-service/internal/config"
	"convoy/ingest-service/internal/fanout"
	"convoy/ingest-service/internal/grpcapi"
	"convoy/ingest-service/internal/metrics"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// Run serves until ctx ends, then drains and returns.
func Run(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	b, err := service.Connect(ctx, cfg.Common, "ingest-service", log)
	if err != nil {
		return err
	}
	defer b.Close(context.WithoutCancel(ctx))
	st, js, reg := b.Store, b.JS, b.Registry

	ln, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.GRPCAddr, err)
	}
	m := metrics.New(reg)
	opts := []grpc.ServerOption{grpc.UnaryInterceptor(m.Interceptor()), grpc.MaxRecvMsgSize(16 << 20),
		// Pings find a Listen stream whose client vanished without closing
		// its connection, so that its session ends and its attempts are
		// answered as failed instead of waiting out their timeout.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
	if tracing.Enabled() {
		// A server span per call (health checks aside), continuing the caller's W3C context.
		opts = append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithFilter(filters.Not(filters.HealthCheck())))))
	}
	srv := grpc.NewServer(opts...)
	healthSrv := health.NewServer()
	healthSrv.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthSrv.SetServingStatus(ingestv1.IngestService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, healthSrv)
	reflection.Register(srv)

	pub := queue.NewPublisher(js)
	fan := fanout.New(st, pub, m)
	apiOpts := []grpcapi.Option{grpcapi.WithJetStream(js)}
	if cfg.APIRateLimit > 0 {
		apiOpts = append(apiOpts, grpcapi.WithRateLimit(apirate.New(js, cfg.APIRateLimit)))
	}
	api := grpcapi.New(st, auth.New(cfg.AdminAPIKey, st).WithLogger(log.Named("auth")), fan, pub, metaevent.New(st, js), log.Named("grpcapi"), apiOpts...)
	ingestv1.RegisterIngestServiceServer(srv, api)

	g, gctx := errgroup.WithContext(ctx)
	fanCtx, stopFanout := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { return fan.Run(fanCtx) })
	g.Go(func() error { return b.ServeOps(gctx) })
	g.Go(func() error {
		// Serve at once (health says NOT_SERVING) so callers get a clear
		// answer while dependencies come up.
		log.Info("grpc listening", zap.String("addr", ln.Addr().String()))
		return srv.Serve(ln)
	})
	g.Go(func() error {
		if err := b.Prepare(gctx, st.EnsureSchema); err != nil {
			srv.Stop()
			stopFanout()
			if gctx.Err() == nil {
				return err // the store's secrets cannot be read with the configured keys
			}
			return nil // ctx ended before the dependencies answered
		}
		g.Go(func() error { return b.KeepPrepared(gctx, nil) })
		healthSrv.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		healthSrv.SetServingStatus(ingestv1.IngestService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		log.Info("ingest-service ready")
		<-gctx.Done()
		// Stop: say NOT_SERVING, let the balancer notice, finish in-flight
		// calls (their events are committed by the still-running fanout),
		// then stop the fanout.
		healthSrv.Shutdown()
		api.StopListening()
		drain(srv, cfg.ShutdownWait)
		stopFanout()
		return nil
	})
	return g.Wait()
}

func drain(srv *grpc.Server, wait time.Duration) {
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		srv.Stop()
	}
}
