// Package app is ingest-service's composition root: it connects to MongoDB
// and NATS, then serves the gRPC API until the context ends.
package app

import (
	"context"
	"fmt"
	"net"
	"time"

	"convoy/core/ops"
	"convoy/core/queue"
	"convoy/core/store"
	"convoy/ingest-service/internal/auth"
	"convoy/ingest-service/internal/config"
	"convoy/ingest-service/internal/fanout"
	"convoy/ingest-service/internal/grpcapi"
	"convoy/ingest-service/internal/metrics"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// Run serves until ctx ends, then drains and returns.
func Run(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	st, err := store.Open(ctx, cfg.MongoURI, cfg.MongoDatabase)
	if err != nil {
		return err
	}
	defer st.Close(context.WithoutCancel(ctx))
	nc, js, err := queue.Connect(cfg.NATSURL, "ingest-service", log)
	if err != nil {
		return err
	}
	defer nc.Close()

	ln, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.GRPCAddr, err)
	}
	reg := ops.NewRegistry()
	m := metrics.New(reg)
	srv := grpc.NewServer(grpc.UnaryInterceptor(m.Interceptor()), grpc.MaxRecvMsgSize(16<<20))
	healthSrv := health.NewServer()
	healthSrv.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthSrv.SetServingStatus(ingestv1.IngestService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, healthSrv)
	reflection.Register(srv)

	pub := queue.NewPublisher(js)
	fan := fanout.New(st, pub, m)
	api := grpcapi.New(st, auth.New(cfg.AdminAPIKey, st), fan, pub, log.Named("grpcapi"))
	ingestv1.RegisterIngestServiceServer(srv, api)

	checks := map[string]ops.Check{"mongodb": st.Ping, "nats": ops.NATSCheck(nc)}

	g, gctx := errgroup.WithContext(ctx)
	fanCtx, stopFanout := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { return fan.Run(fanCtx) })
	g.Go(func() error { return ops.Serve(gctx, cfg.OpsAddr, ops.Handler(reg, checks), log) })
	g.Go(func() error {
		// Serve at once (health says NOT_SERVING) so callers get a clear
		// answer while dependencies come up.
		log.Info("grpc listening", zap.String("addr", ln.Addr().String()))
		return srv.Serve(ln)
	})
	g.Go(func() error {
		if err := prepare(gctx, st, js, cfg.NATSReplicas, log); err != nil {
			srv.Stop()
			stopFanout()
			return nil // ctx ended before the dependencies answered
		}
		healthSrv.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		healthSrv.SetServingStatus(ingestv1.IngestService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		log.Info("ingest-service ready")
		<-gctx.Done()
		// Stop: say NOT_SERVING, let the balancer notice, finish in-flight
		// calls (their events are committed by the still-running fanout),
		// then stop the fanout.
		healthSrv.Shutdown()
		drain(srv, cfg.ShutdownWait)
		stopFanout()
		return nil
	})
	return g.Wait()
}

// prepare waits for MongoDB and NATS, then creates collections, indexes and
// streams (idempotent, safe from every replica).
func prepare(ctx context.Context, st *store.Store, js jetstream.JetStream, replicas int, log *zap.Logger) error {
	return ops.WaitFor(ctx, log, "prepare store and streams", func(ctx context.Context) error {
		if err := st.Ping(ctx); err != nil {
			return fmt.Errorf("mongodb: %w", err)
		}
		if err := st.EnsureSchema(ctx); err != nil {
			return err
		}
		return queue.EnsureStreams(ctx, js, replicas)
	})
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
