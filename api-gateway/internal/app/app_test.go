package app

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"convoy/api-gateway/internal/config"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// slowIngest answers GetGroup only once release is closed, so a test can
// hold a request in flight across shutdown.
type slowIngest struct {
	ingestv1.UnimplementedIngestServiceServer
	started atomic.Int32
	release chan struct{}
}

func (s *slowIngest) GetGroup(ctx context.Context, r *ingestv1.GetGroupRequest) (*ingestv1.Group, error) {
	s.started.Add(1)
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &ingestv1.Group{Uid: r.GetGroupId(), CreatedAt: timestamppb.Now()}, nil
}

func startIngest(t *testing.T) (*slowIngest, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	fake := &slowIngest{release: make(chan struct{})}
	ingestv1.RegisterIngestServiceServer(srv, fake)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return fake, lis.Addr().String()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = res.Body.Close()
	return res.StatusCode, nil
}

func TestServeDrainsInFlightRequestsOnShutdown(t *testing.T) {
	fake, ingestAddr := startIngest(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	opsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsAddr := opsLn.Addr().String()
	opsLn.Close()
	opsBase := "http://" + opsAddr
	cfg := config.Default()
	cfg.IngestAddr = ingestAddr
	cfg.OpsAddr = opsAddr
	cfg.ShutdownWait = 5 * time.Second

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, cfg, zap.NewNop(), ln) }()

	eventually(t, "gateway to answer /healthz on its ops address", func() bool {
		st, err := get(t.Context(), opsBase+"/healthz")
		return err == nil && st == 200
	})
	for _, tc := range []struct {
		url  string
		want int
	}{
		{base + "/health", 200},
		{opsBase + "/readyz", 200},
		{opsBase + "/metrics", 200},
		{base + "/metrics", 404}, // never on the public port
		{base + "/readyz", 404},
		{base + "/ui/", 200}, // the console shares the API port
		{base + "/ui/app.js", 200},
	} {
		if st, err := get(t.Context(), tc.url); err != nil || st != tc.want {
			t.Fatalf("GET %s = %d, %v; want %d", tc.url, st, err, tc.want)
		}
	}

	inFlight := make(chan int, 1)
	go func() {
		st, err := get(context.Background(), base+"/api/v1/groups/grp-1")
		if err != nil {
			t.Errorf("in-flight request: %v", err)
		}
		inFlight <- st
	}()
	eventually(t, "the request to reach ingest", func() bool { return fake.started.Load() == 1 })

	cancel()
	eventually(t, "the gateway to stop accepting", func() bool {
		_, err := get(t.Context(), base+"/health")
		return err != nil
	})
	close(fake.release)

	if st := <-inFlight; st != 200 {
		t.Errorf("in-flight request = %d, want 200", st)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
}

func TestRunReportsListenError(t *testing.T) {
	cfg := config.Default()
	cfg.HTTPAddr = "127.0.0.1:-1"
	err := Run(t.Context(), cfg, zap.NewNop())
	if err == nil || !strings.Contains(err.Error(), "listen 127.0.0.1:-1") {
		t.Fatalf("Run = %v, want a listen error naming the address", err)
	}
}
