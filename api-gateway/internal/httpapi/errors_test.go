package httpapi

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestGRPCErrorsMapToHTTP(t *testing.T) {
	tests := []struct {
		code        codes.Code
		wantStatus  int
		wantMessage string
		wantLog     zapcore.Level // 0 (info) means no error/warn line expected
	}{
		{codes.InvalidArgument, 400, "url must be an absolute http(s) URL", 0},
		{codes.NotFound, 404, "group not found", 0},
		{codes.Unauthenticated, 401, "invalid api key", 0},
		{codes.PermissionDenied, 403, "admin key required", 0},
		{codes.AlreadyExists, 409, "group name taken", 0},
		{codes.FailedPrecondition, 409, "endpoint is inactive", 0},
		{codes.ResourceExhausted, 429, "slow down", 0},
		{codes.Unavailable, 503, msgUnavailable, zapcore.WarnLevel},
		{codes.DeadlineExceeded, 503, msgUnavailable, zapcore.WarnLevel},
		{codes.Internal, 500, msgInternal, zapcore.ErrorLevel},
		{codes.Unknown, 500, msgInternal, zapcore.ErrorLevel},
		{codes.Unimplemented, 500, msgInternal, zapcore.ErrorLevel},
		{codes.Canceled, 500, msgInternal, zapcore.ErrorLevel},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			h := newHarness(t, Options{})
			h.fake.setErr(status.Error(tt.code, tt.code.String()+" detail: mongo at 10.0.0.5"))
			if tt.wantLog == 0 {
				h.fake.setErr(status.Error(tt.code, tt.wantMessage))
			}
			res := h.do(t, "GET", "/api/v1/groups/grp-1", "", map[string]string{"X-Request-ID": "rid-1"})
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			env := res.envelope(t)
			if *env.Status || *env.Message != tt.wantMessage || string(env.Data) != "null" {
				t.Errorf("envelope = %s, want status false, message %q, data null", res.body, tt.wantMessage)
			}
			if strings.Contains(string(res.body), "10.0.0.5") {
				t.Errorf("internal detail leaked: %s", res.body)
			}
			if tt.wantLog == 0 {
				return
			}
			logged := h.logs.FilterLevelExact(tt.wantLog).FilterField(zapcoreString("request_id", "rid-1")).All()
			if len(logged) != 1 {
				t.Fatalf("got %d %s log lines for the failure, want 1", len(logged), tt.wantLog)
			}
			if got := logged[0].ContextMap()["grpc_code"]; got != tt.code.String() {
				t.Errorf("logged grpc_code = %v", got)
			}
		})
	}
}

func zapcoreString(key, val string) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.StringType, String: val}
}

func TestHTTPStatusTable(t *testing.T) {
	// Every code has a deliberate answer; unknown future codes fall to 500.
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		if got := httpStatus(c); got < 400 || got > 599 {
			t.Errorf("httpStatus(%s) = %d, want an error status", c, got)
		}
	}
	if got := httpStatus(codes.Code(99)); got != 500 {
		t.Errorf("httpStatus(99) = %d, want 500", got)
	}
}

// A rate-limited call answers 429 with the wait ingest-service gave, in
// whole seconds, as Retry-After.
func TestRateLimitedAnswersRetryAfter(t *testing.T) {
	for _, c := range []struct {
		name  string
		delay time.Duration
		want  string
	}{
		{"a fraction of a second rounds up", 300 * time.Millisecond, "1"},
		{"whole seconds", 3 * time.Second, "3"},
		{"no wait given", -1, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			st := status.New(codes.ResourceExhausted, "API rate limit exceeded")
			if c.delay >= 0 {
				st, _ = st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(c.delay)})
			}
			h.fake.setErr(st.Err())
			res := h.do(t, "GET", "/api/v1/groups/grp-1", "", nil)
			if res.status != 429 || res.header.Get("Retry-After") != c.want {
				t.Fatalf("status %d, Retry-After %q; want 429, %q", res.status, res.header.Get("Retry-After"), c.want)
			}
		})
	}
}
