package ops

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestReadyzNamesTheFailingCheck(t *testing.T) {
	h := Handler(NewRegistry(), map[string]Check{
		"mongodb": func(context.Context) error { return nil },
		"nats":    func(context.Context) error { return errors.New("disconnected") },
	})
	code, body := get(t, h, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "nats: disconnected") || !strings.Contains(body, "mongodb: ok") {
		t.Errorf("readyz = %d %q", code, body)
	}
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("healthz = %d", code)
	}
}

func TestProfilingIsOptIn(t *testing.T) {
	h := Handler(NewRegistry(), nil)
	if code, _ := get(t, h, "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("pprof without opt-in = %d, want 404", code)
	}
	p := WithProfiling(h)
	if code, body := get(t, p, "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index = %d", code)
	}
	if code, body := get(t, p, "/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics behind profiling = %d", code)
	}
}
