package grpcapi_test

import (
	"testing"
	"time"

	"convoy/core/endpointhealth"
	"convoy/core/ids"
	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func circuitBreaker(threshold, minRequests int32, window, cooldown string) *ingestv1.CircuitBreakerConfig {
	return &ingestv1.CircuitBreakerConfig{FailureThreshold: threshold, MinRequests: minRequests, Window: window, Cooldown: cooldown}
}

// A group's circuit_breaker takes the defaults, is set on create and by
// partial update, shows durations short, reads as the defaults when stored
// without it, and rejects bad values naming the field.
func TestCircuitBreakerConfig(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	defaults := circuitBreaker(70, 10, "1m", "30s")

	t.Run("defaults", func(t *testing.T) {
		got := h.group(t, "plain").Config.CircuitBreaker
		if !proto.Equal(got, defaults) {
			t.Fatalf("default circuit_breaker %v, want %v", got, defaults)
		}
	})

	t.Run("set on create, partial updates", func(t *testing.T) {
		g := must(api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "cb", Config: &ingestv1.GroupConfigInput{
			CircuitBreakerFailureThreshold: i32(50), CircuitBreakerMinRequests: i32(4),
			CircuitBreakerWindow: str("90s"), CircuitBreakerCooldown: str(" 3s "),
		}}))(t)
		if want := circuitBreaker(50, 4, "1m30s", "3s"); !proto.Equal(g.Config.CircuitBreaker, want) {
			t.Fatalf("created circuit_breaker %v, want %v", g.Config.CircuitBreaker, want)
		}
		must(api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: g.Uid, Config: &ingestv1.GroupConfigInput{
			CircuitBreakerCooldown: str("2h0m0s"),
		}}))(t)
		got := must(api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: g.Uid}))(t).Config.CircuitBreaker
		if want := circuitBreaker(50, 4, "1m30s", "2h"); !proto.Equal(got, want) {
			t.Fatalf("after a cooldown update %v, want %v", got, want)
		}
	})

	t.Run("stored without one reads as the defaults", func(t *testing.T) {
		cfg := model.DefaultGroupConfig()
		cfg.CircuitBreaker = model.CircuitBreaker{}
		at := time.Now().UTC()
		old := &model.Group{UID: ids.New(), Name: "old", Config: cfg, CreatedAt: at, UpdatedAt: at}
		if err := h.store.CreateGroup(ctx, old); err != nil {
			t.Fatal(err)
		}
		got := must(api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: old.UID}))(t).Config.CircuitBreaker
		if !proto.Equal(got, defaults) {
			t.Fatalf("old group's circuit_breaker %v, want the defaults", got)
		}
		up := must(api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: old.UID, Config: &ingestv1.GroupConfigInput{
			CircuitBreakerMinRequests: i32(20),
		}}))(t).Config.CircuitBreaker
		if want := circuitBreaker(70, 20, "1m", "30s"); !proto.Equal(up, want) {
			t.Fatalf("partial update of an old group %v, want %v", up, want)
		}
	})

	g := h.group(t, "bad").Uid
	cases := []struct {
		name string
		in   *ingestv1.GroupConfigInput
		want string
	}{
		{"threshold zero", &ingestv1.GroupConfigInput{CircuitBreakerFailureThreshold: i32(0)}, "config.circuit_breaker.failure_threshold must be a percentage from 1 to 100"},
		{"threshold over 100", &ingestv1.GroupConfigInput{CircuitBreakerFailureThreshold: i32(101)}, "config.circuit_breaker.failure_threshold"},
		{"min requests zero", &ingestv1.GroupConfigInput{CircuitBreakerMinRequests: i32(0)}, "config.circuit_breaker.min_requests must be at least 1"},
		{"window text", &ingestv1.GroupConfigInput{CircuitBreakerWindow: str("a minute")}, "config.circuit_breaker.window must be a duration"},
		{"window empty", &ingestv1.GroupConfigInput{CircuitBreakerWindow: str("")}, "config.circuit_breaker.window must be a duration"},
		{"window short", &ingestv1.GroupConfigInput{CircuitBreakerWindow: str("500ms")}, "config.circuit_breaker.window must be a duration from 1s"},
		{"cooldown text", &ingestv1.GroupConfigInput{CircuitBreakerCooldown: str("30")}, "config.circuit_breaker.cooldown must be a duration"},
		{"cooldown short", &ingestv1.GroupConfigInput{CircuitBreakerCooldown: str("999ms")}, "config.circuit_breaker.cooldown must be a duration from 1s"},
		{"cooldown long", &ingestv1.GroupConfigInput{CircuitBreakerCooldown: str("25h")}, "config.circuit_breaker.cooldown must be a duration from 1s to 24h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "x", Config: tc.in})
			wantCode(t, err, codes.InvalidArgument, tc.want)
			_, err = api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: g, Config: tc.in})
			wantCode(t, err, codes.InvalidArgument, tc.want)
		})
	}
	got := must(api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: g}))(t).Config.CircuitBreaker
	if !proto.Equal(got, defaults) {
		t.Fatalf("rejected updates changed the circuit_breaker: %v", got)
	}
}

// Every endpoint answer carries its circuit from the health bucket: closed
// before any dispatcher has created the bucket, and the shared state once
// one has written it.
func TestEndpointsShowTheirCircuit(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	g := h.group(t, "circuit").Uid
	app := h.app(t, g, "a").Uid
	ep := h.endpoint(t, g, app) // created before the bucket exists
	if c := ep.Circuit; c == nil || c.State != endpointhealth.Closed || c.FailureRate != 0 || c.OpenedAt != nil {
		t.Fatalf("new endpoint's circuit %v, want closed", c)
	}
	list := must(api.ListEndpoints(ctx, &ingestv1.ListEndpointsRequest{GroupId: g, AppId: app}))(t)
	if c := list.Endpoints[0].Circuit; c == nil || c.State != endpointhealth.Closed {
		t.Fatalf("listed circuit %v without a bucket, want closed", c)
	}

	kv, err := endpointhealth.EnsureBucket(ctx, h.js, 1)
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	if _, _, err := endpointhealth.Update(ctx, kv, ep.Uid, func(s *endpointhealth.State) error {
		s.Circuit, s.FailureRate, s.OpenedAt = endpointhealth.Open, 0.75, &opened
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	other := h.endpoint(t, g, app)
	answers := map[string]*ingestv1.Endpoint{
		"get": must(api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: g, AppId: app, EndpointId: ep.Uid}))(t),
		"update": must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{
			GroupId: g, AppId: app, EndpointId: ep.Uid, Description: str("still open"),
		}))(t),
		"expire secret": must(api.ExpireSecret(ctx, &ingestv1.ExpireSecretRequest{GroupId: g, AppId: app, EndpointId: ep.Uid}))(t),
	}
	list = must(api.ListEndpoints(ctx, &ingestv1.ListEndpointsRequest{GroupId: g, AppId: app}))(t)
	for _, e := range list.Endpoints {
		if e.Uid == ep.Uid {
			answers["list"] = e
		} else if c := e.Circuit; c == nil || c.State != endpointhealth.Closed {
			t.Errorf("endpoint %s without health: circuit %v, want closed", e.Uid, c)
		}
	}
	if other.Circuit.GetState() != endpointhealth.Closed {
		t.Errorf("created endpoint's circuit %v, want closed", other.Circuit)
	}
	for name, e := range answers {
		c := e.GetCircuit()
		if c.GetState() != endpointhealth.Open || c.GetFailureRate() != 0.75 || c.GetOpenedAt() == nil || !c.GetOpenedAt().AsTime().Equal(opened) {
			t.Errorf("%s: circuit %v, want open at %s with rate 0.75", name, c, opened)
		}
	}
}
