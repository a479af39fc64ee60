package grpcapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/ingest-service/internal/apirate"
	"convoy/ingest-service/internal/auth"
	"convoy/ingest-service/internal/grpcapi"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// pollCode calls f until it answers want, for up to d.
func pollCode(t *testing.T, d time.Duration, want codes.Code, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if status.Code(err) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %v (%v) after %v, want %v", status.Code(err), err, d, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPortalLinks(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "portal").Uid
	app := h.app(t, g, "shop")

	created := must(h.api.CreatePortalLink(h.admin, &ingestv1.CreatePortalLinkRequest{GroupId: g, AppId: app.Uid}))(t)
	if !strings.HasPrefix(created.Token, auth.PortalTokenPrefix) || created.Uid == "" || created.AppId != app.Uid || created.GroupId != g {
		t.Fatalf("created %+v", created)
	}
	if ttl := created.ExpiresAt.AsTime().Sub(created.CreatedAt.AsTime()); ttl != 24*time.Hour {
		t.Errorf("default lifetime %v, want 24h", ttl)
	}
	if !slices.Equal(created.FrameAncestors, []string{"'self'"}) || created.CanManageEndpoints {
		t.Errorf("defaults: frame_ancestors %v, can_manage_endpoints %v", created.FrameAncestors, created.CanManageEndpoints)
	}

	t.Run("session", func(t *testing.T) {
		s := must(h.api.GetPortalSession(h.as(created.Token), &ingestv1.GetPortalSessionRequest{}))(t)
		if s.Uid != created.Uid || s.AppId != app.Uid || s.AppName != "shop" || s.GroupId != g || !s.ExpiresAt.AsTime().Equal(created.ExpiresAt.AsTime()) {
			t.Fatalf("session %+v", s)
		}
	})
	t.Run("list never shows a token", func(t *testing.T) {
		res := must(h.api.ListPortalLinks(h.admin, &ingestv1.ListPortalLinksRequest{GroupId: g, AppId: app.Uid}))(t)
		if len(res.Links) != 1 || res.Links[0].Uid != created.Uid || res.Links[0].Token != "" {
			t.Fatalf("links %+v", res.Links)
		}
	})
	t.Run("settings", func(t *testing.T) {
		l := must(h.api.CreatePortalLink(h.admin, &ingestv1.CreatePortalLinkRequest{GroupId: g, AppId: app.Uid, ExpiresIn: "7d",
			CanManageEndpoints: true, FrameAncestors: []string{"'self'", "https://*.example.com", "https://app.example.com:8443/x"}}))(t)
		if ttl := l.ExpiresAt.AsTime().Sub(l.CreatedAt.AsTime()); ttl != 7*24*time.Hour || !l.CanManageEndpoints || len(l.FrameAncestors) != 3 {
			t.Fatalf("link %+v (lifetime %v)", l, ttl)
		}
	})
	t.Run("bad input names the field", func(t *testing.T) {
		for _, c := range []struct {
			name string
			req  *ingestv1.CreatePortalLinkRequest
			want string
		}{
			{"not a duration", &ingestv1.CreatePortalLinkRequest{ExpiresIn: "soon"}, "expires_in"},
			{"too short", &ingestv1.CreatePortalLinkRequest{ExpiresIn: "10s"}, "expires_in"},
			{"too long", &ingestv1.CreatePortalLinkRequest{ExpiresIn: "400d"}, "expires_in"},
			{"a header injection", &ingestv1.CreatePortalLinkRequest{FrameAncestors: []string{"https://a.com; script-src *"}}, "frame_ancestors[0]"},
			{"two sources in one", &ingestv1.CreatePortalLinkRequest{FrameAncestors: []string{"'self' https://a.com"}}, "frame_ancestors[0]"},
			{"none with others", &ingestv1.CreatePortalLinkRequest{FrameAncestors: []string{"'self'", "'none'"}}, "frame_ancestors[1]"},
			{"unsafe keyword", &ingestv1.CreatePortalLinkRequest{FrameAncestors: []string{"'unsafe-inline'"}}, "frame_ancestors[0]"},
		} {
			c.req.GroupId, c.req.AppId = g, app.Uid
			_, err := h.api.CreatePortalLink(h.admin, c.req)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), c.want) {
				t.Errorf("%s: %v, want InvalidArgument naming %s", c.name, err, c.want)
			}
		}
		_, err := h.api.CreatePortalLink(h.admin, &ingestv1.CreatePortalLinkRequest{GroupId: g, AppId: "nope"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("unknown application: %v, want NotFound", err)
		}
	})
	t.Run("revoked stops within the cache time", func(t *testing.T) {
		l := must(h.api.CreatePortalLink(h.admin, &ingestv1.CreatePortalLinkRequest{GroupId: g, AppId: app.Uid}))(t)
		ctx := h.as(l.Token)
		must(h.api.GetApplication(ctx, &ingestv1.GetApplicationRequest{GroupId: g, AppId: app.Uid}))(t)
		must(h.api.RevokePortalLink(h.admin, &ingestv1.RevokePortalLinkRequest{GroupId: g, AppId: app.Uid, PortalLinkId: l.Uid}))(t)
		start := time.Now()
		pollCode(t, auth.KeyCacheTTL+time.Second, codes.Unauthenticated, func() error {
			_, err := h.api.GetApplication(ctx, &ingestv1.GetApplicationRequest{GroupId: g, AppId: app.Uid})
			return err
		})
		t.Logf("revoked link refused after %v", time.Since(start))
		_, err := h.api.RevokePortalLink(h.admin, &ingestv1.RevokePortalLinkRequest{GroupId: g, AppId: app.Uid, PortalLinkId: l.Uid})
		if status.Code(err) != codes.NotFound {
			t.Errorf("revoke twice: %v, want NotFound", err)
		}
	})
	t.Run("expired is refused", func(t *testing.T) {
		plain := auth.PortalTokenPrefix + ids.New()
		at := time.Now().UTC()
		if err := h.store.CreatePortalLink(context.Background(), &model.PortalLink{Hash: auth.HashKey(plain), UID: ids.New(), GroupID: g, AppID: app.Uid,
			ExpiresAt: at.Add(-time.Second), CreatedAt: at.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		_, err := h.api.GetPortalSession(h.as(plain), &ingestv1.GetPortalSessionRequest{})
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("expired link: %v, want Unauthenticated", err)
		}
	})
	t.Run("deleting the application deletes its links", func(t *testing.T) {
		doomed := h.app(t, g, "doomed").Uid
		l := must(h.api.CreatePortalLink(h.admin, &ingestv1.CreatePortalLinkRequest{GroupId: g, AppId: doomed}))(t)
		must(h.api.DeleteApplication(h.admin, &ingestv1.DeleteApplicationRequest{GroupId: g, AppId: doomed}))(t)
		pollCode(t, auth.KeyCacheTTL+time.Second, codes.Unauthenticated, func() error {
			_, err := h.api.GetPortalSession(h.as(l.Token), &ingestv1.GetPortalSessionRequest{})
			return err
		})
	})
}

// A portal token sees its application's data only, whatever the request
// names, and its lists are narrowed to it even when they name no
// application.
func TestPortalScope(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "scope").Uid
	mine, theirs := h.app(t, g, "mine").Uid, h.app(t, g, "theirs").Uid
	myEp, theirEp := h.endpoint(t, g, mine).Uid, h.endpoint(t, g, theirs).Uid
	myEv, theirEv := h.event(t, g, mine, "x").Uid, h.event(t, g, theirs, "x").Uid
	myD := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: myEv})[0].Uid
	theirD := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: theirEv})[0].Uid
	h.setStatus(t, model.StatusFailure, myD, theirD)
	ctx := h.as(must(h.api.CreatePortalLink(h.admin, &ingestv1.CreatePortalLinkRequest{GroupId: g, AppId: mine, CanManageEndpoints: true}))(t).Token)

	t.Run("lists are narrowed", func(t *testing.T) {
		evs := must(h.api.ListEvents(ctx, &ingestv1.ListEventsRequest{GroupId: g}))(t).Events
		if len(evs) != 1 || evs[0].Uid != myEv {
			t.Errorf("events %v, want only %s", evs, myEv)
		}
		ds := must(h.api.ListDeliveries(ctx, &ingestv1.ListDeliveriesRequest{GroupId: g}))(t).Deliveries
		if len(ds) != 1 || ds[0].Uid != myD {
			t.Errorf("deliveries %v, want only %s", ds, myD)
		}
		n := must(h.api.CountBatchRetryDeliveries(ctx, &ingestv1.CountBatchRetryDeliveriesRequest{GroupId: g}))(t).Num
		if n != 1 {
			t.Errorf("count for batch retry %d, want 1 (its own failed delivery)", n)
		}
		c := must(h.api.CountDeliveries(ctx, &ingestv1.CountDeliveriesRequest{GroupId: g}))(t)
		if c.Total != 1 || c.Counts[model.StatusFailure] != 1 {
			t.Errorf("counts %v (total %d), want its own failed delivery only", c.Counts, c.Total)
		}
		// An empty group id means the link's group, as with a group key.
		if evs := must(h.api.ListEvents(ctx, &ingestv1.ListEventsRequest{}))(t).Events; len(evs) != 1 {
			t.Errorf("events with no group named: %d, want 1", len(evs))
		}
	})
	t.Run("the other application's data is not found", func(t *testing.T) {
		for name, call := range map[string]func() error{
			"list its events": func() error {
				_, err := h.api.ListEvents(ctx, &ingestv1.ListEventsRequest{GroupId: g, AppId: theirs})
				return err
			},
			"get its event": func() error {
				_, err := h.api.GetEvent(ctx, &ingestv1.GetEventRequest{GroupId: g, EventId: theirEv})
				return err
			},
			"count its deliveries": func() error {
				_, err := h.api.CountDeliveries(ctx, &ingestv1.CountDeliveriesRequest{GroupId: g, Filter: &ingestv1.DeliveryFilter{AppId: theirs}})
				return err
			},
			"list its deliveries": func() error {
				_, err := h.api.ListDeliveries(ctx, &ingestv1.ListDeliveriesRequest{GroupId: g, Filter: &ingestv1.DeliveryFilter{AppId: theirs}})
				return err
			},
			"get its delivery": func() error {
				_, err := h.api.GetDelivery(ctx, &ingestv1.GetDeliveryRequest{GroupId: g, DeliveryId: theirD})
				return err
			},
			"list its attempts": func() error {
				_, err := h.api.ListAttempts(ctx, &ingestv1.ListAttemptsRequest{GroupId: g, DeliveryId: theirD})
				return err
			},
			"get its application": func() error {
				_, err := h.api.GetApplication(ctx, &ingestv1.GetApplicationRequest{GroupId: g, AppId: theirs})
				return err
			},
			"list its endpoints": func() error {
				_, err := h.api.ListEndpoints(ctx, &ingestv1.ListEndpointsRequest{GroupId: g, AppId: theirs})
				return err
			},
			"get its endpoint": func() error {
				_, err := h.api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: g, AppId: theirs, EndpointId: theirEp})
				return err
			},
			"its endpoint by mine": func() error {
				_, err := h.api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: g, AppId: mine, EndpointId: theirEp})
				return err
			},
			"add an endpoint": func() error {
				_, err := h.api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: theirs, Url: "https://example.com/x"})
				return err
			},
			"delete its endpoint": func() error {
				_, err := h.api.DeleteEndpoint(ctx, &ingestv1.DeleteEndpointRequest{GroupId: g, AppId: theirs, EndpointId: theirEp})
				return err
			},
			"rotate its secret": func() error {
				_, err := h.api.ExpireSecret(ctx, &ingestv1.ExpireSecretRequest{GroupId: g, AppId: theirs, EndpointId: theirEp})
				return err
			},
			"resend its delivery": func() error {
				_, err := h.api.ResendDelivery(ctx, &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: theirD})
				return err
			},
			"batch retry it": func() error {
				_, err := h.api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g, Ids: []string{theirD}})
				return err
			},
			"another group": func() error {
				_, err := h.api.ListEvents(ctx, &ingestv1.ListEventsRequest{GroupId: h.group(t, "other").Uid})
				return err
			},
		} {
			if err := call(); status.Code(err) != codes.NotFound {
				t.Errorf("%s: %v, want NotFound", name, err)
			}
		}
		if _, err := h.api.ListApplications(ctx, &ingestv1.ListApplicationsRequest{GroupId: g}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("list applications: %v, want PermissionDenied", err)
		}
	})
	t.Run("its own data and resends", func(t *testing.T) {
		must(h.api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: g, AppId: mine, EndpointId: myEp}))(t)
		must(h.api.GetEvent(ctx, &ingestv1.GetEventRequest{GroupId: g, EventId: myEv}))(t)
		must(h.api.ListAttempts(ctx, &ingestv1.ListAttemptsRequest{GroupId: g, DeliveryId: myD}))(t)
		res := must(h.api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g}))(t)
		if !slices.Equal(res.Ids, []string{myD}) {
			t.Errorf("batch retry by filter retried %v, want only %s", res.Ids, myD)
		}
		if d := must(h.api.GetDelivery(h.admin, &ingestv1.GetDeliveryRequest{GroupId: g, DeliveryId: theirD}))(t); d.Status != model.StatusFailure {
			t.Errorf("the other application's delivery is %s, want untouched Failure", d.Status)
		}
		e := must(h.api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: mine, Url: "https://example.com/mine"}))(t)
		must(h.api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: mine, EndpointId: e.Uid, Status: str(model.EndpointInactive)}))(t)
		must(h.api.ExpireSecret(ctx, &ingestv1.ExpireSecretRequest{GroupId: g, AppId: mine, EndpointId: e.Uid}))(t)
		must(h.api.DeleteEndpoint(ctx, &ingestv1.DeleteEndpointRequest{GroupId: g, AppId: mine, EndpointId: e.Uid}))(t)
	})
	t.Run("a link that only views resends without reactivating", func(t *testing.T) {
		view := h.as(must(h.api.CreatePortalLink(h.admin, &ingestv1.CreatePortalLinkRequest{GroupId: g, AppId: mine}))(t).Token)
		h.setStatus(t, model.StatusFailure, myD)
		_, err := h.api.ResendDelivery(view, &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: myD, ReactivateEndpoint: true})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("resend reactivating: %v, want PermissionDenied", err)
		}
		must(h.api.ResendDelivery(view, &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: myD}))(t)
		if _, err := h.api.UpdateEndpoint(view, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: mine, EndpointId: myEp, Description: str("x")}); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("update endpoint: %v, want PermissionDenied", err)
		}
	})
}

func TestAPIKeyRolesAndExpiry(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "keys").Uid
	for _, c := range []struct {
		name string
		req  *ingestv1.CreateAPIKeyRequest
		want string
	}{
		{"unknown role", &ingestv1.CreateAPIKeyRequest{Role: "owner"}, "role"},
		{"expiry in the past", &ingestv1.CreateAPIKeyRequest{ExpiresAt: timestamppb.New(time.Now().Add(-time.Hour))}, "expires_at"},
	} {
		c.req.GroupId, c.req.Name = g, "k"
		if _, err := h.api.CreateAPIKey(h.admin, c.req); status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), c.want) {
			t.Errorf("%s: %v, want InvalidArgument naming %s", c.name, err, c.want)
		}
	}
	def := must(h.api.CreateAPIKey(h.admin, &ingestv1.CreateAPIKeyRequest{GroupId: g, Name: "default"}))(t)
	if def.Role != model.RoleAdmin || def.ExpiresAt != nil || def.LastUsedAt != nil {
		t.Errorf("default key %+v, want admin, no expiry, never used", def)
	}

	t.Run("an expiring key stops at its time", func(t *testing.T) {
		k := must(h.api.CreateAPIKey(h.admin, &ingestv1.CreateAPIKeyRequest{GroupId: g, Name: "brief", ExpiresAt: timestamppb.New(time.Now().Add(1500 * time.Millisecond))}))(t)
		ctx := h.as(k.Key)
		must(h.api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: g}))(t)
		pollCode(t, 5*time.Second, codes.Unauthenticated, func() error {
			_, err := h.api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: g})
			return err
		})
		if time.Now().Before(k.ExpiresAt.AsTime()) {
			t.Fatal("refused before its expiry")
		}
	})
	t.Run("last use is shown", func(t *testing.T) {
		before := time.Now().Add(-time.Second)
		must(h.api.GetGroup(h.as(def.Key), &ingestv1.GetGroupRequest{GroupId: g}))(t)
		deadline := time.Now().Add(5 * time.Second)
		for {
			keys := must(h.api.ListAPIKeys(h.admin, &ingestv1.ListAPIKeysRequest{GroupId: g}))(t).Keys
			i := slices.IndexFunc(keys, func(k *ingestv1.APIKey) bool { return k.Uid == def.Uid })
			if i >= 0 && keys[i].LastUsedAt != nil {
				if keys[i].LastUsedAt.AsTime().Before(before) {
					t.Fatalf("last used %v, before the call at %v", keys[i].LastUsedAt.AsTime(), before)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("last_used_at never set")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func TestAPIRateLimit(t *testing.T) {
	h := newHarness(t, func(js jetstream.JetStream) grpcapi.Option { return grpcapi.WithRateLimit(apirate.New(js, 3)) })
	g := h.group(t, "limited").Uid
	ctx := h.as(h.keyOf(t, g))
	limited := 0
	for range 20 {
		_, err := h.api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: g})
		if status.Code(err) == codes.ResourceExhausted {
			limited++
			var wait time.Duration
			for _, d := range status.Convert(err).Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					wait = ri.RetryDelay.AsDuration()
				}
			}
			if wait < time.Second || wait > 2*time.Second {
				t.Fatalf("retry delay %v, want whole seconds (1 here)", wait)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// 20 calls span a few seconds at most: at most 3 a second pass.
	if limited == 0 {
		t.Fatal("no call was limited")
	}
	for range 20 {
		if _, err := h.api.GetGroup(h.admin, &ingestv1.GetGroupRequest{GroupId: g}); err != nil {
			t.Fatalf("admin key limited: %v", err)
		}
	}
}

type auditView struct {
	*ingestv1.AuditEntry
	before, after map[string]any
}

// Every change to a group's configuration is in its audit log, by whom,
// with the documents before and after and no secret anywhere.
func TestAuditLog(t *testing.T) {
	h := newHarness(t)
	const appSecret, epSecret, rotated, metaSecret = "app-secret-0123456789abcdef", "ep-secret-0123456789abcdef", "rotated-0123456789abcdef", "meta-secret-0123456789abcdef"
	g := must(h.api.CreateGroup(h.admin, &ingestv1.CreateGroupRequest{Name: "audited",
		Config: &ingestv1.GroupConfigInput{MetaEventIsEnabled: ptrTo(true), MetaEventUrl: str("https://example.com/meta"), MetaEventSecret: str(metaSecret)}}))(t).Uid
	key := must(h.api.CreateAPIKey(h.admin, &ingestv1.CreateAPIKeyRequest{GroupId: g, Name: "ops"}))(t)
	kctx := h.as(key.Key)
	must(h.api.UpdateGroup(kctx, &ingestv1.UpdateGroupRequest{GroupId: g, Name: str("audited2")}))(t)
	app := must(h.api.CreateApplication(kctx, &ingestv1.CreateApplicationRequest{GroupId: g, Name: "a", Secret: appSecret}))(t).Uid
	must(h.api.UpdateApplication(kctx, &ingestv1.UpdateApplicationRequest{GroupId: g, AppId: app, Name: str("a2")}))(t)
	ep := must(h.api.CreateEndpoint(kctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: app, Url: "https://example.com/e", Secret: epSecret}))(t).Uid
	must(h.api.UpdateEndpoint(kctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, Description: str("d")}))(t)
	must(h.api.ExpireSecret(kctx, &ingestv1.ExpireSecretRequest{GroupId: g, AppId: app, EndpointId: ep, Secret: rotated, Expiration: 60}))(t)
	link := must(h.api.CreatePortalLink(kctx, &ingestv1.CreatePortalLinkRequest{GroupId: g, AppId: app, CanManageEndpoints: true}))(t)
	pctx := h.as(link.Token)
	pep := must(h.api.CreateEndpoint(pctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: app, Url: "https://example.com/p"}))(t).Uid
	must(h.api.DeleteEndpoint(pctx, &ingestv1.DeleteEndpointRequest{GroupId: g, AppId: app, EndpointId: pep}))(t)
	must(h.api.RevokePortalLink(kctx, &ingestv1.RevokePortalLinkRequest{GroupId: g, AppId: app, PortalLinkId: link.Uid}))(t)
	et := must(h.api.CreateEventType(kctx, &ingestv1.CreateEventTypeRequest{GroupId: g, Name: "invoice.paid"}))(t).Uid
	must(h.api.UpdateEventType(kctx, &ingestv1.UpdateEventTypeRequest{GroupId: g, EventTypeId: et, Description: str("d")}))(t)
	must(h.api.DeleteEventType(kctx, &ingestv1.DeleteEventTypeRequest{GroupId: g, EventTypeId: et}))(t)
	must(h.api.DeleteEndpoint(kctx, &ingestv1.DeleteEndpointRequest{GroupId: g, AppId: app, EndpointId: ep}))(t)
	must(h.api.DeleteApplication(kctx, &ingestv1.DeleteApplicationRequest{GroupId: g, AppId: app}))(t)
	must(h.api.RevokeAPIKey(h.admin, &ingestv1.RevokeAPIKeyRequest{GroupId: g, KeyId: key.Uid}))(t)
	other := h.group(t, "other").Uid

	// Page through the group's log, three at a time, newest first.
	var log []auditView
	p := &ingestv1.PageRequest{PerPage: 3}
	for {
		res := must(h.api.ListAuditLog(h.admin, &ingestv1.ListAuditLogRequest{GroupId: g, Page: p}))(t)
		for _, e := range res.Entries {
			v := auditView{AuditEntry: e}
			for _, doc := range []struct {
				raw string
				out *map[string]any
			}{{e.Before, &v.before}, {e.After, &v.after}} {
				if doc.raw != "" {
					if err := json.Unmarshal([]byte(doc.raw), doc.out); err != nil {
						t.Fatalf("entry %s: %v: %s", e.Uid, err, doc.raw)
					}
				}
			}
			log = append(log, v)
		}
		if !res.Page.HasNextPage {
			break
		}
		p = &ingestv1.PageRequest{PerPage: 3, Cursor: res.Page.NextPageCursor}
	}
	slices.Reverse(log) // oldest first, as the calls were made
	want := []struct{ actor, action, typ, id string }{
		{"admin", "create", "group", g},
		{"admin", "create", "api_key", key.Uid},
		{key.Uid, "update", "group", g},
		{key.Uid, "create", "application", app},
		{key.Uid, "update", "application", app},
		{key.Uid, "create", "endpoint", ep},
		{key.Uid, "update", "endpoint", ep},
		{key.Uid, "rotate_secret", "endpoint", ep},
		{key.Uid, "create", "portal_link", link.Uid},
		{link.Uid, "create", "endpoint", pep},
		{link.Uid, "delete", "endpoint", pep},
		{key.Uid, "delete", "portal_link", link.Uid},
		{key.Uid, "create", "event_type", et},
		{key.Uid, "update", "event_type", et},
		{key.Uid, "delete", "event_type", et},
		{key.Uid, "delete", "endpoint", ep},
		{key.Uid, "delete", "application", app},
		{"admin", "delete", "api_key", key.Uid},
	}
	if len(log) != len(want) {
		for _, e := range log {
			t.Logf("%s %s %s %s", e.Actor, e.Action, e.ResourceType, e.ResourceId)
		}
		t.Fatalf("%d entries, want %d", len(log), len(want))
	}
	for i, w := range want {
		e := log[i]
		if e.Actor != w.actor || e.Action != w.action || e.ResourceType != w.typ || e.ResourceId != w.id || e.GroupId != g {
			t.Errorf("entry %d: %s %s %s %s, want %+v", i, e.Actor, e.Action, e.ResourceType, e.ResourceId, w)
		}
		if (e.before == nil) != (w.action == "create") || (e.after == nil) != (w.action == "delete") {
			t.Errorf("entry %d (%s %s): before %v, after %v", i, w.action, w.typ, e.before != nil, e.after != nil)
		}
		for _, secret := range []string{appSecret, epSecret, rotated, metaSecret, key.Key, link.Token, auth.HashKey(key.Key), auth.HashKey(link.Token)} {
			if strings.Contains(e.Before+e.After, secret) {
				t.Errorf("entry %d (%s %s) shows a secret: %s %s", i, w.action, w.typ, e.Before, e.After)
			}
		}
	}
	if name := log[2].after["name"]; name != "audited2" || log[2].before["name"] != "audited" {
		t.Errorf("group update: before %v, after %v", log[2].before["name"], name)
	}
	if !strings.Contains(log[7].Before+log[7].After, "[REDACTED]") {
		t.Errorf("rotation shows no redacted secret: %s", log[7].After)
	}

	t.Run("who may read it", func(t *testing.T) {
		ok := h.as(h.keyOf(t, g))
		must(h.api.ListAuditLog(ok, &ingestv1.ListAuditLogRequest{GroupId: g}))(t)
		if _, err := h.api.ListAuditLog(h.as(h.keyOf(t, other)), &ingestv1.ListAuditLogRequest{GroupId: g}); status.Code(err) != codes.NotFound {
			t.Errorf("another group's key: %v, want NotFound", err)
		}
		if _, err := h.api.ListAuditLog(ok, &ingestv1.ListAuditLogRequest{}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("every group's log with a group key: %v, want PermissionDenied", err)
		}
		all := must(h.api.ListAuditLog(h.admin, &ingestv1.ListAuditLogRequest{Page: &ingestv1.PageRequest{PerPage: 100}}))(t).Entries
		groups := map[string]bool{}
		for _, e := range all {
			groups[e.GroupId] = true
		}
		if !groups[g] || !groups[other] {
			t.Errorf("every group's log has groups %v, want %s and %s", groups, g, other)
		}
	})
	t.Run("it outlives its group", func(t *testing.T) {
		must(h.api.DeleteGroup(h.admin, &ingestv1.DeleteGroupRequest{GroupId: other}))(t)
		all := must(h.api.ListAuditLog(h.admin, &ingestv1.ListAuditLogRequest{Page: &ingestv1.PageRequest{PerPage: 1}}))(t).Entries
		if len(all) != 1 || all[0].ResourceId != other || all[0].Action != "delete" {
			t.Errorf("newest entry %v, want the group's deletion", all)
		}
	})
}
func ptrTo[T any](v T) *T { return &v }

// countingLimiter counts calls and allows them all.
type countingLimiter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[key]++
	return true, 0, nil
}

func (c *countingLimiter) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// Every call a key makes counts once against its rate, whatever helpers
// the call goes through.
func TestEveryCallCountsOnce(t *testing.T) {
	lim := &countingLimiter{n: map[string]int{}}
	h := newHarness(t, func(jetstream.JetStream) grpcapi.Option { return grpcapi.WithRateLimit(lim) })
	w := newWorld(t, h)
	key := h.keyOf(t, w.group)
	keys := must(h.api.ListAPIKeys(h.admin, &ingestv1.ListAPIKeysRequest{GroupId: w.group}))(t).Keys
	uid := keys[0].Uid
	own := func(*testing.T, string) context.Context { return h.as(key) }
	for _, op := range authOps() {
		before := lim.count(uid)
		err := op.call(t, own, w)
		if got := lim.count(uid) - before; err == nil && got != 1 {
			t.Errorf("%s counted %d times, want once", op.name, got)
		}
	}
}
