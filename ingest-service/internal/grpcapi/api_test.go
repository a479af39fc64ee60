package grpcapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"convoy/core/hmacs"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/ingest-service/internal/auth"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// world is what the auth matrix acts on: group A with an application, an
// endpoint, an event and its delivery, and group B whose key must see none
// of it.
type world struct {
	h                                   *harness
	group, other                        string
	app, endpoint, event, delivery      string
	otherApp, otherEndpoint, otherEvent string
	otherDelivery                       string
	metaEvent, otherMetaEvent           string
	// dapp has one endpoint; fresh deliveries for resend ops come from it.
	dapp string
	// attempt is the one recorded attempt of delivery.
	attempt string
}

func newWorld(t *testing.T, h *harness) *world {
	w := &world{h: h}
	w.group = h.group(t, "A").Uid
	w.other = h.group(t, "B").Uid
	w.app = h.app(t, w.group, "shop").Uid
	w.endpoint = h.endpoint(t, w.group, w.app).Uid
	w.event = h.event(t, w.group, w.app, "invoice.paid").Uid
	w.delivery = h.deliveries(t, w.group, &ingestv1.DeliveryFilter{EventId: w.event})[0].Uid
	w.dapp = h.app(t, w.group, "resends").Uid
	h.endpoint(t, w.group, w.dapp)
	w.otherApp = h.app(t, w.other, "theirs").Uid
	w.otherEndpoint = h.endpoint(t, w.other, w.otherApp).Uid
	w.otherEvent = h.event(t, w.other, w.otherApp, "invoice.paid").Uid
	w.otherDelivery = h.deliveries(t, w.other, &ingestv1.DeliveryFilter{EventId: w.otherEvent})[0].Uid
	w.attempt = "att-" + w.delivery
	at := time.Now().UTC()
	if err := h.store.UpdateDeliveries(context.Background(), []store.DeliveryUpdate{{
		ID: w.delivery, Status: model.StatusSuccess, At: at,
		Attempt: &model.Attempt{UID: w.attempt, URL: "https://example.com", HTTPStatus: 200, Status: true, CreatedAt: at},
	}}); err != nil {
		t.Fatalf("record attempt: %v", err)
	}
	w.metaEvent = h.metaEvent(t, w.group, model.StatusSuccess).UID
	w.otherMetaEvent = h.metaEvent(t, w.other, model.StatusFailure).UID
	return w
}

// freshDelivery returns a new delivery of group A moved to st.
func (w *world) freshDelivery(t *testing.T, st string) string {
	ev := w.h.event(t, w.group, w.dapp, "x")
	id := w.h.deliveries(t, w.group, &ingestv1.DeliveryFilter{EventId: ev.Uid})[0].Uid
	w.h.setStatus(t, st, id)
	return id
}

// as maps the group an operation targets to the caller's context.
type as func(t *testing.T, groupID string) context.Context

type authOp struct {
	name      string
	adminOnly bool
	call      func(t *testing.T, ctx as, w *world) error
}

func authOps() []authOp {
	return []authOp{
		{"CreateGroup", true, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.CreateGroup(ctx(t, w.group), &ingestv1.CreateGroupRequest{Name: "new"})
			return err
		}},
		{"ListGroups", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListGroups(ctx(t, w.group), &ingestv1.ListGroupsRequest{})
			return err
		}},
		{"GetGroup", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetGroup(ctx(t, w.group), &ingestv1.GetGroupRequest{GroupId: w.group})
			return err
		}},
		{"UpdateGroup", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.UpdateGroup(ctx(t, w.group), &ingestv1.UpdateGroupRequest{GroupId: w.group, Name: str("A2")})
			return err
		}},
		{"DeleteGroup", false, func(t *testing.T, ctx as, w *world) error {
			g := w.h.group(t, "doomed").Uid
			_, err := w.h.api.DeleteGroup(ctx(t, g), &ingestv1.DeleteGroupRequest{GroupId: g})
			return err
		}},
		{"CreateAPIKey", true, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.CreateAPIKey(ctx(t, w.group), &ingestv1.CreateAPIKeyRequest{GroupId: w.group, Name: "k"})
			return err
		}},
		{"ListAPIKeys", true, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListAPIKeys(ctx(t, w.group), &ingestv1.ListAPIKeysRequest{GroupId: w.group})
			return err
		}},
		{"ListAPIKeys/every group", true, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListAPIKeys(ctx(t, w.group), &ingestv1.ListAPIKeysRequest{})
			return err
		}},
		{"GetAPIKey", true, func(t *testing.T, ctx as, w *world) error {
			k := must(w.h.api.CreateAPIKey(w.h.admin, &ingestv1.CreateAPIKeyRequest{GroupId: w.group, Name: "read"}))(t)
			_, err := w.h.api.GetAPIKey(ctx(t, w.group), &ingestv1.GetAPIKeyRequest{KeyId: k.Uid})
			return err
		}},
		{"RevokeAPIKey/without group", true, func(t *testing.T, ctx as, w *world) error {
			k := must(w.h.api.CreateAPIKey(w.h.admin, &ingestv1.CreateAPIKeyRequest{GroupId: w.group, Name: "doomed"}))(t)
			_, err := w.h.api.RevokeAPIKey(ctx(t, w.group), &ingestv1.RevokeAPIKeyRequest{KeyId: k.Uid})
			return err
		}},
		{"RevokeAPIKey", true, func(t *testing.T, ctx as, w *world) error {
			k := must(w.h.api.CreateAPIKey(w.h.admin, &ingestv1.CreateAPIKeyRequest{GroupId: w.group, Name: "doomed"}))(t)
			_, err := w.h.api.RevokeAPIKey(ctx(t, w.group), &ingestv1.RevokeAPIKeyRequest{GroupId: w.group, KeyId: k.Uid})
			return err
		}},
		{"CreateApplication", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.CreateApplication(ctx(t, w.group), &ingestv1.CreateApplicationRequest{GroupId: w.group, Name: "new"})
			return err
		}},
		{"ListApplications", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListApplications(ctx(t, w.group), &ingestv1.ListApplicationsRequest{GroupId: w.group})
			return err
		}},
		{"GetApplication", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetApplication(ctx(t, w.group), &ingestv1.GetApplicationRequest{GroupId: w.group, AppId: w.app})
			return err
		}},
		{"UpdateApplication", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.UpdateApplication(ctx(t, w.group), &ingestv1.UpdateApplicationRequest{GroupId: w.group, AppId: w.app, Name: str("shop2")})
			return err
		}},
		{"DeleteApplication", false, func(t *testing.T, ctx as, w *world) error {
			a := w.h.app(t, w.group, "doomed").Uid
			_, err := w.h.api.DeleteApplication(ctx(t, w.group), &ingestv1.DeleteApplicationRequest{GroupId: w.group, AppId: a})
			return err
		}},
		{"CreateEndpoint", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.CreateEndpoint(ctx(t, w.group), &ingestv1.CreateEndpointRequest{GroupId: w.group, AppId: w.app, Url: "https://example.com/new"})
			return err
		}},
		{"ListEndpoints", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListEndpoints(ctx(t, w.group), &ingestv1.ListEndpointsRequest{GroupId: w.group, AppId: w.app})
			return err
		}},
		{"GetEndpoint", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetEndpoint(ctx(t, w.group), &ingestv1.GetEndpointRequest{GroupId: w.group, AppId: w.app, EndpointId: w.endpoint})
			return err
		}},
		{"UpdateEndpoint", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.UpdateEndpoint(ctx(t, w.group), &ingestv1.UpdateEndpointRequest{GroupId: w.group, AppId: w.app, EndpointId: w.endpoint, Description: str("d")})
			return err
		}},
		{"DeleteEndpoint", false, func(t *testing.T, ctx as, w *world) error {
			e := w.h.endpoint(t, w.group, w.app, "never.sent").Uid
			_, err := w.h.api.DeleteEndpoint(ctx(t, w.group), &ingestv1.DeleteEndpointRequest{GroupId: w.group, AppId: w.app, EndpointId: e})
			return err
		}},
		{"ExpireSecret", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ExpireSecret(ctx(t, w.group), &ingestv1.ExpireSecretRequest{GroupId: w.group, AppId: w.app, EndpointId: w.endpoint, Expiration: 60})
			return err
		}},
		{"GetEndpointStats", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetEndpointStats(ctx(t, w.group), &ingestv1.GetEndpointStatsRequest{GroupId: w.group, AppId: w.app, EndpointId: w.endpoint, Window: "1h"})
			return err
		}},
		{"GetEndpointPublicKey", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetEndpointPublicKey(ctx(t, w.group), &ingestv1.GetEndpointPublicKeyRequest{GroupId: w.group, AppId: w.app, EndpointId: w.endpoint})
			return err
		}},
		{"CreateEvent", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.CreateEvent(ctx(t, w.group), &ingestv1.CreateEventRequest{GroupId: w.group, AppId: w.app, EventType: "auth.matrix", Data: []byte(`{}`)})
			return err
		}},
		{"ListEvents", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListEvents(ctx(t, w.group), &ingestv1.ListEventsRequest{GroupId: w.group})
			return err
		}},
		{"GetEvent", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetEvent(ctx(t, w.group), &ingestv1.GetEventRequest{GroupId: w.group, EventId: w.event})
			return err
		}},
		{"BroadcastEvent", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.BroadcastEvent(ctx(t, w.group), &ingestv1.BroadcastEventRequest{GroupId: w.group, EventType: "auth.matrix", Data: []byte(`{}`)})
			return err
		}},
		{"FanoutEvent", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.FanoutEvent(ctx(t, w.group), &ingestv1.FanoutEventRequest{GroupId: w.group, OwnerId: "owner-1", EventType: "auth.matrix", Data: []byte(`{}`)})
			return err
		}},
		{"PrecheckEvent", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.PrecheckEvent(ctx(t, w.group), &ingestv1.PrecheckEventRequest{GroupId: w.group,
				Kind: &ingestv1.PrecheckEventRequest_Broadcast{Broadcast: &ingestv1.BroadcastEventRequest{EventType: "auth.matrix", Data: []byte(`{}`)}}})
			return err
		}},
		{"SendTestEvent", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.SendTestEvent(ctx(t, w.group), &ingestv1.SendTestEventRequest{GroupId: w.group, AppId: w.app, EndpointId: w.endpoint})
			return err
		}},
		{"TestFilter", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.TestFilter(ctx(t, w.group), &ingestv1.TestFilterRequest{GroupId: w.group, Filter: []byte(`{"body": {"a": 1}}`), Payload: []byte(`{"a": 1}`)})
			return err
		}},
		{"CreateEventType", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.CreateEventType(ctx(t, w.group), &ingestv1.CreateEventTypeRequest{GroupId: w.group, Name: "auth." + ids.New()})
			return err
		}},
		{"ListEventTypes", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListEventTypes(ctx(t, w.group), &ingestv1.ListEventTypesRequest{GroupId: w.group})
			return err
		}},
		{"GetEventType", false, func(t *testing.T, ctx as, w *world) error {
			et := w.h.eventType(t, w.group)
			_, err := w.h.api.GetEventType(ctx(t, w.group), &ingestv1.GetEventTypeRequest{GroupId: w.group, EventTypeId: et.Uid})
			return err
		}},
		{"UpdateEventType", false, func(t *testing.T, ctx as, w *world) error {
			et := w.h.eventType(t, w.group)
			_, err := w.h.api.UpdateEventType(ctx(t, w.group), &ingestv1.UpdateEventTypeRequest{GroupId: w.group, EventTypeId: et.Uid, Description: str("d")})
			return err
		}},
		{"DeleteEventType", false, func(t *testing.T, ctx as, w *world) error {
			et := w.h.eventType(t, w.group)
			_, err := w.h.api.DeleteEventType(ctx(t, w.group), &ingestv1.DeleteEventTypeRequest{GroupId: w.group, EventTypeId: et.Uid})
			return err
		}},
		{"ListDeliveries", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListDeliveries(ctx(t, w.group), &ingestv1.ListDeliveriesRequest{GroupId: w.group})
			return err
		}},
		{"GetDelivery", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetDelivery(ctx(t, w.group), &ingestv1.GetDeliveryRequest{GroupId: w.group, DeliveryId: w.delivery})
			return err
		}},
		{"ListAttempts", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListAttempts(ctx(t, w.group), &ingestv1.ListAttemptsRequest{GroupId: w.group, DeliveryId: w.delivery})
			return err
		}},
		{"GetAttempt", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetAttempt(ctx(t, w.group), &ingestv1.GetAttemptRequest{GroupId: w.group, DeliveryId: w.delivery, AttemptId: w.attempt})
			return err
		}},
		{"CountDeliveries", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.CountDeliveries(ctx(t, w.group), &ingestv1.CountDeliveriesRequest{GroupId: w.group})
			return err
		}},
		{"ResendDelivery/reactivating the endpoint", false, func(t *testing.T, ctx as, w *world) error {
			id := w.freshDelivery(t, model.StatusFailure)
			_, err := w.h.api.ResendDelivery(ctx(t, w.group), &ingestv1.ResendDeliveryRequest{GroupId: w.group, DeliveryId: id, ReactivateEndpoint: true})
			return err
		}},
		{"CountBatchRetryDeliveries", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.CountBatchRetryDeliveries(ctx(t, w.group), &ingestv1.CountBatchRetryDeliveriesRequest{GroupId: w.group, Filter: &ingestv1.DeliveryFilter{AppId: w.dapp}})
			return err
		}},
		{"ResendDelivery", false, func(t *testing.T, ctx as, w *world) error {
			id := w.freshDelivery(t, model.StatusFailure)
			_, err := w.h.api.ResendDelivery(ctx(t, w.group), &ingestv1.ResendDeliveryRequest{GroupId: w.group, DeliveryId: id})
			return err
		}},
		{"BatchRetryDeliveries/ids", false, func(t *testing.T, ctx as, w *world) error {
			id := w.freshDelivery(t, model.StatusFailure)
			_, err := w.h.api.BatchRetryDeliveries(ctx(t, w.group), &ingestv1.BatchRetryDeliveriesRequest{GroupId: w.group, Ids: []string{id}})
			return err
		}},
		{"BatchRetryDeliveries/filter", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.BatchRetryDeliveries(ctx(t, w.group), &ingestv1.BatchRetryDeliveriesRequest{GroupId: w.group, Filter: &ingestv1.DeliveryFilter{AppId: w.dapp}})
			return err
		}},
		{"ForceResendDeliveries", false, func(t *testing.T, ctx as, w *world) error {
			id := w.freshDelivery(t, model.StatusSuccess)
			_, err := w.h.api.ForceResendDeliveries(ctx(t, w.group), &ingestv1.ForceResendDeliveriesRequest{GroupId: w.group, Ids: []string{id}})
			return err
		}},
		{"ListMetaEvents", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListMetaEvents(ctx(t, w.group), &ingestv1.ListMetaEventsRequest{GroupId: w.group})
			return err
		}},
		{"GetMetaEvent", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetMetaEvent(ctx(t, w.group), &ingestv1.GetMetaEventRequest{GroupId: w.group, MetaEventId: w.metaEvent})
			return err
		}},
		{"ResendMetaEvent", false, func(t *testing.T, ctx as, w *world) error {
			id := w.h.metaEvent(t, w.group, model.StatusFailure).UID
			_, err := w.h.api.ResendMetaEvent(ctx(t, w.group), &ingestv1.ResendMetaEventRequest{GroupId: w.group, MetaEventId: id})
			return err
		}},
		{"ListDeadLetters", true, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListDeadLetters(ctx(t, w.group), &ingestv1.ListDeadLettersRequest{})
			return err
		}},
		{"RedriveDeadLetters", true, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.RedriveDeadLetters(ctx(t, w.group), &ingestv1.RedriveDeadLettersRequest{})
			return err
		}},
		{"GetEncryptionStatus", true, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetEncryptionStatus(ctx(t, w.group), &ingestv1.GetEncryptionStatusRequest{})
			return err
		}},
		{"RotateEncryptionKey", true, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.RotateEncryptionKey(ctx(t, w.group), &ingestv1.RotateEncryptionKeyRequest{})
			if err == nil {
				// Nothing runs it here: let the next request be accepted too.
				err = w.h.store.SetRotation(context.Background(), store.Rotation{Status: store.RotationDone})
			}
			return err
		}},
		{"CreatePortalLink", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.CreatePortalLink(ctx(t, w.group), &ingestv1.CreatePortalLinkRequest{GroupId: w.group, AppId: w.app})
			return err
		}},
		{"ListPortalLinks", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListPortalLinks(ctx(t, w.group), &ingestv1.ListPortalLinksRequest{GroupId: w.group, AppId: w.app})
			return err
		}},
		{"RevokePortalLink", false, func(t *testing.T, ctx as, w *world) error {
			l := must(w.h.api.CreatePortalLink(w.h.admin, &ingestv1.CreatePortalLinkRequest{GroupId: w.group, AppId: w.app}))(t)
			_, err := w.h.api.RevokePortalLink(ctx(t, w.group), &ingestv1.RevokePortalLinkRequest{GroupId: w.group, AppId: w.app, PortalLinkId: l.Uid})
			return err
		}},
		{"GetPortalSession", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.GetPortalSession(ctx(t, w.group), &ingestv1.GetPortalSessionRequest{})
			return err
		}},
		{"ListAuditLog", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListAuditLog(ctx(t, w.group), &ingestv1.ListAuditLogRequest{GroupId: w.group})
			return err
		}},
		{"ListAuditLog/every group", true, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ListAuditLog(ctx(t, w.group), &ingestv1.ListAuditLogRequest{})
			return err
		}},
		{"Listen", false, func(t *testing.T, ctx as, w *world) error {
			_, err := listenReady(ctx(t, w.group), w.h, &ingestv1.ListenRequest{GroupId: w.group, EndpointId: w.endpoint})
			return err
		}},
		{"ReportListenOutcome", false, func(t *testing.T, ctx as, w *world) error {
			_, err := w.h.api.ReportListenOutcome(ctx(t, w.group), &ingestv1.ReportListenOutcomeRequest{
				GroupId: w.group, EndpointId: w.endpoint, ReplyToken: "_INBOX.nobody.waits",
				Outcome: &ingestv1.ListenOutcome{DeliveryId: w.delivery, StatusCode: 200},
			})
			return err
		}},
	}
}

// method is the RPC an op calls.
func (op authOp) method() string { m, _, _ := strings.Cut(op.name, "/"); return m }

// readOps are the calls a read-only key may make (the GET routes).
var readOps = map[string]bool{
	"ListGroups": true, "GetGroup": true, "ListApplications": true, "GetApplication": true, "ListEndpoints": true, "GetEndpoint": true,
	"GetEndpointStats": true, "GetEndpointPublicKey": true, "ListEvents": true, "GetEvent": true, "ListEventTypes": true, "GetEventType": true,
	"ListDeliveries": true, "GetDelivery": true, "ListAttempts": true, "GetAttempt": true, "CountBatchRetryDeliveries": true,
	"ListMetaEvents": true, "GetMetaEvent": true, "ListPortalLinks": true, "ListAuditLog": true, "CountDeliveries": true,
}

// portalWant is what a portal token bound to w.app gets from each op:
// its application's data, and NotFound for the delivery ops, which act on
// w.dapp's deliveries. Endpoint writes need can_manage_endpoints.
func portalWant(op authOp, manage bool) codes.Code {
	switch op.method() {
	case "GetApplication", "ListEndpoints", "GetEndpoint", "GetEndpointStats", "GetEndpointPublicKey", "ListEvents", "GetEvent",
		"ListDeliveries", "GetDelivery", "ListAttempts", "GetAttempt", "GetPortalSession", "CountDeliveries":
		return codes.OK
	case "ResendDelivery", "BatchRetryDeliveries", "CountBatchRetryDeliveries", "ForceResendDeliveries":
		return codes.NotFound
	case "CreateEndpoint", "UpdateEndpoint", "DeleteEndpoint", "ExpireSecret", "SendTestEvent":
		if manage {
			return codes.OK
		}
	}
	return codes.PermissionDenied
}

// portalToken creates a link of w.app and returns its token.
func (w *world) portalToken(t *testing.T, manage bool) string {
	l := must(w.h.api.CreatePortalLink(w.h.admin, &ingestv1.CreatePortalLinkRequest{GroupId: w.group, AppId: w.app, CanManageEndpoints: manage}))(t)
	return l.Token
}

// storedKey stores a key directly (the API refuses an expiry in the past).
func (w *world) storedKey(t *testing.T, k *model.APIKey) string {
	plain := "convoy_stored_" + ids.New()
	k.Hash, k.UID, k.Name, k.CreatedAt = auth.HashKey(plain), ids.New(), "stored", time.Now().UTC()
	if err := w.h.store.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return plain
}

// listenReady opens a Listen stream, reads its first message (where a
// refused call's error arrives) and closes it.
func listenReady(ctx context.Context, h *harness, req *ingestv1.ListenRequest) (*ingestv1.ListenReady, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := h.api.Listen(ctx, req)
	if err != nil {
		return nil, err
	}
	m, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	return m.GetReady(), nil
}

// Every RPC against every kind of caller: no key and a wrong key are
// Unauthenticated; the admin key may do everything; a group key everything
// inside its group except the admin-only operations (PermissionDenied); and
// another group's key sees the group as not existing (NotFound), never data.
func TestAuthMatrix(t *testing.T) {
	h := newHarness(t)
	w := newWorld(t, h)
	bad := func(v string) as {
		return func(*testing.T, string) context.Context {
			return metadata.AppendToOutgoingContext(context.Background(), "authorization", v)
		}
	}
	past := time.Now().Add(-time.Minute)
	expiredKey := w.storedKey(t, &model.APIKey{GroupID: w.group, ExpiresAt: &past})
	readOnly := must(h.api.CreateAPIKey(h.admin, &ingestv1.CreateAPIKeyRequest{GroupId: w.group, Name: "reader", Role: model.RoleReadOnly}))(t).Key
	portalManage, portalView := w.portalToken(t, true), w.portalToken(t, false)
	fixed := func(key string) as { return func(*testing.T, string) context.Context { return h.as(key) } }
	portalOnly := func(op authOp) bool { return op.method() == "GetPortalSession" }
	callers := []struct {
		name string
		ctx  as
		want func(op authOp) codes.Code
	}{
		{"no key", func(*testing.T, string) context.Context { return h.nobody }, func(authOp) codes.Code { return codes.Unauthenticated }},
		{"unknown key", bad("Bearer convoy_not-a-key"), func(authOp) codes.Code { return codes.Unauthenticated }},
		{"unknown portal token", bad("Bearer convoy_portal_not-a-token"), func(authOp) codes.Code { return codes.Unauthenticated }},
		{"not bearer", bad("Basic " + adminKey), func(authOp) codes.Code { return codes.Unauthenticated }},
		{"empty bearer", bad("Bearer "), func(authOp) codes.Code { return codes.Unauthenticated }},
		{"expired key", fixed(expiredKey), func(authOp) codes.Code { return codes.Unauthenticated }},
		{"admin key", func(*testing.T, string) context.Context { return h.admin }, func(op authOp) codes.Code {
			if portalOnly(op) {
				return codes.Unauthenticated
			}
			return codes.OK
		}},
		{"own group key", func(t *testing.T, g string) context.Context { return h.as(h.keyOf(t, g)) }, func(op authOp) codes.Code {
			switch {
			case portalOnly(op):
				return codes.Unauthenticated
			case op.adminOnly:
				return codes.PermissionDenied
			}
			return codes.OK
		}},
		{"own group read-only key", fixed(readOnly), func(op authOp) codes.Code {
			switch {
			case portalOnly(op):
				return codes.Unauthenticated
			case op.adminOnly || !readOps[op.method()]:
				return codes.PermissionDenied
			}
			return codes.OK
		}},
		{"other group key", func(t *testing.T, _ string) context.Context { return h.as(h.keyOf(t, w.other)) }, func(op authOp) codes.Code {
			switch {
			case portalOnly(op):
				return codes.Unauthenticated
			case op.adminOnly:
				return codes.PermissionDenied
			case op.method() == "ListGroups":
				return codes.OK // it names no group: the list is the key's own
			}
			return codes.NotFound
		}},
		{"portal token that manages endpoints", fixed(portalManage), func(op authOp) codes.Code { return portalWant(op, true) }},
		{"portal token that views", fixed(portalView), func(op authOp) codes.Code { return portalWant(op, false) }},
	}
	for _, op := range authOps() {
		t.Run(op.name, func(t *testing.T) {
			for _, c := range callers {
				err := op.call(t, c.ctx, w)
				if got, want := status.Code(err), c.want(op); got != want {
					t.Errorf("%s: got %v (%v), want %v", c.name, got, err, want)
				}
			}
		})
	}
}

// Every RPC of the service has an op in the matrix.
func TestAuthMatrixCoversEveryRPC(t *testing.T) {
	covered := map[string]bool{}
	for _, op := range authOps() {
		covered[op.method()] = true
	}
	for _, m := range ingestv1.IngestService_ServiceDesc.Methods {
		if !covered[m.MethodName] {
			t.Errorf("RPC %s has no op in the auth matrix", m.MethodName)
		}
	}
}

// A group key naming its own group but another group's resources finds
// nothing, and changes nothing.
func TestAuthCrossGroupIDs(t *testing.T) {
	h := newHarness(t)
	w := newWorld(t, h)
	ctx := h.as(h.keyOf(t, w.group))
	w.h.setStatus(t, model.StatusFailure, w.otherDelivery)
	cases := []struct {
		name string
		call func() error
	}{
		{"GetApplication", func() error {
			_, err := h.api.GetApplication(ctx, &ingestv1.GetApplicationRequest{GroupId: w.group, AppId: w.otherApp})
			return err
		}},
		{"UpdateApplication", func() error {
			_, err := h.api.UpdateApplication(ctx, &ingestv1.UpdateApplicationRequest{GroupId: w.group, AppId: w.otherApp, Name: str("mine")})
			return err
		}},
		{"DeleteApplication", func() error {
			_, err := h.api.DeleteApplication(ctx, &ingestv1.DeleteApplicationRequest{GroupId: w.group, AppId: w.otherApp})
			return err
		}},
		{"CreateEndpoint", func() error {
			_, err := h.api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: w.group, AppId: w.otherApp, Url: "https://evil.example"})
			return err
		}},
		{"ListEndpoints", func() error {
			_, err := h.api.ListEndpoints(ctx, &ingestv1.ListEndpointsRequest{GroupId: w.group, AppId: w.otherApp})
			return err
		}},
		{"GetEndpoint", func() error {
			_, err := h.api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: w.group, AppId: w.otherApp, EndpointId: w.otherEndpoint})
			return err
		}},
		{"GetEndpoint/own app", func() error {
			_, err := h.api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: w.group, AppId: w.app, EndpointId: w.otherEndpoint})
			return err
		}},
		{"GetEndpointStats", func() error {
			_, err := h.api.GetEndpointStats(ctx, &ingestv1.GetEndpointStatsRequest{GroupId: w.group, AppId: w.otherApp, EndpointId: w.otherEndpoint})
			return err
		}},
		{"GetEndpointStats/own app", func() error {
			_, err := h.api.GetEndpointStats(ctx, &ingestv1.GetEndpointStatsRequest{GroupId: w.group, AppId: w.app, EndpointId: w.otherEndpoint})
			return err
		}},
		{"GetEndpointPublicKey", func() error {
			_, err := h.api.GetEndpointPublicKey(ctx, &ingestv1.GetEndpointPublicKeyRequest{GroupId: w.group, AppId: w.otherApp, EndpointId: w.otherEndpoint})
			return err
		}},
		{"GetEndpointPublicKey/own app", func() error {
			_, err := h.api.GetEndpointPublicKey(ctx, &ingestv1.GetEndpointPublicKeyRequest{GroupId: w.group, AppId: w.app, EndpointId: w.otherEndpoint})
			return err
		}},
		{"UpdateEndpoint", func() error {
			_, err := h.api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: w.group, AppId: w.otherApp, EndpointId: w.otherEndpoint, Url: str("https://evil.example")})
			return err
		}},
		{"DeleteEndpoint", func() error {
			_, err := h.api.DeleteEndpoint(ctx, &ingestv1.DeleteEndpointRequest{GroupId: w.group, AppId: w.otherApp, EndpointId: w.otherEndpoint})
			return err
		}},
		{"ExpireSecret", func() error {
			_, err := h.api.ExpireSecret(ctx, &ingestv1.ExpireSecretRequest{GroupId: w.group, AppId: w.otherApp, EndpointId: w.otherEndpoint})
			return err
		}},
		{"CreateEvent", func() error {
			_, err := h.api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: w.group, AppId: w.otherApp, EventType: "x", Data: []byte(`1`)})
			return err
		}},
		{"SendTestEvent", func() error {
			_, err := h.api.SendTestEvent(ctx, &ingestv1.SendTestEventRequest{GroupId: w.group, AppId: w.otherApp, EndpointId: w.otherEndpoint})
			return err
		}},
		{"SendTestEvent/own app", func() error {
			_, err := h.api.SendTestEvent(ctx, &ingestv1.SendTestEventRequest{GroupId: w.group, AppId: w.app, EndpointId: w.otherEndpoint})
			return err
		}},
		{"GetEvent", func() error {
			_, err := h.api.GetEvent(ctx, &ingestv1.GetEventRequest{GroupId: w.group, EventId: w.otherEvent})
			return err
		}},
		{"GetDelivery", func() error {
			_, err := h.api.GetDelivery(ctx, &ingestv1.GetDeliveryRequest{GroupId: w.group, DeliveryId: w.otherDelivery})
			return err
		}},
		{"ListAttempts", func() error {
			_, err := h.api.ListAttempts(ctx, &ingestv1.ListAttemptsRequest{GroupId: w.group, DeliveryId: w.otherDelivery})
			return err
		}},
		{"ResendDelivery", func() error {
			_, err := h.api.ResendDelivery(ctx, &ingestv1.ResendDeliveryRequest{GroupId: w.group, DeliveryId: w.otherDelivery})
			return err
		}},
		{"BatchRetryDeliveries", func() error {
			_, err := h.api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: w.group, Ids: []string{w.otherDelivery}})
			return err
		}},
		{"ForceResendDeliveries", func() error {
			_, err := h.api.ForceResendDeliveries(ctx, &ingestv1.ForceResendDeliveriesRequest{GroupId: w.group, Ids: []string{w.otherDelivery}})
			return err
		}},
		{"GetMetaEvent", func() error {
			_, err := h.api.GetMetaEvent(ctx, &ingestv1.GetMetaEventRequest{GroupId: w.group, MetaEventId: w.otherMetaEvent})
			return err
		}},
		{"ResendMetaEvent", func() error {
			_, err := h.api.ResendMetaEvent(ctx, &ingestv1.ResendMetaEventRequest{GroupId: w.group, MetaEventId: w.otherMetaEvent})
			return err
		}},
		{"Listen", func() error {
			_, err := listenReady(ctx, h, &ingestv1.ListenRequest{GroupId: w.group, EndpointId: w.otherEndpoint})
			return err
		}},
		{"ReportListenOutcome", func() error {
			_, err := h.api.ReportListenOutcome(ctx, &ingestv1.ReportListenOutcomeRequest{
				GroupId: w.group, EndpointId: w.otherEndpoint, ReplyToken: "_INBOX.x.y",
				Outcome: &ingestv1.ListenOutcome{DeliveryId: w.otherDelivery, StatusCode: 200},
			})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.call(), codes.NotFound, "not found") })
	}

	// Lists filtered by another group's ids are empty.
	evs := must(h.api.ListEvents(ctx, &ingestv1.ListEventsRequest{GroupId: w.group, AppId: w.otherApp}))(t)
	ds := must(h.api.ListDeliveries(ctx, &ingestv1.ListDeliveriesRequest{GroupId: w.group, Filter: &ingestv1.DeliveryFilter{EventId: w.otherEvent}}))(t)
	if len(evs.Events) != 0 || len(ds.Deliveries) != 0 {
		t.Errorf("lists leaked %d events and %d deliveries of another group", len(evs.Events), len(ds.Deliveries))
	}
	// Group B's resources are untouched.
	d := must(h.api.GetDelivery(h.admin, &ingestv1.GetDeliveryRequest{GroupId: w.other, DeliveryId: w.otherDelivery}))(t)
	if d.Status != model.StatusFailure {
		t.Errorf("other group's delivery is %s, want it left Failure", d.Status)
	}
	e := must(h.api.GetEndpoint(h.admin, &ingestv1.GetEndpointRequest{GroupId: w.other, AppId: w.otherApp, EndpointId: w.otherEndpoint}))(t)
	if e.Url != "https://example.com/hook" || len(e.Secrets) != 1 {
		t.Errorf("other group's endpoint changed: %v", e)
	}
	m := must(h.api.GetMetaEvent(h.admin, &ingestv1.GetMetaEventRequest{GroupId: w.other, MetaEventId: w.otherMetaEvent}))(t)
	if m.Status != model.StatusFailure {
		t.Errorf("other group's meta event is %s, want it left Failure", m.Status)
	}
	a := must(h.api.GetApplication(h.admin, &ingestv1.GetApplicationRequest{GroupId: w.other, AppId: w.otherApp}))(t)
	if a.Name != "theirs" {
		t.Errorf("other group's application renamed to %q", a.Name)
	}
}

// Bad input is InvalidArgument with a message naming the field.
func TestInvalidArgument(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	ep := h.endpoint(t, g, app).Uid
	api, ctx := h.api, h.admin
	cfg := func(f func(*ingestv1.GroupConfigInput)) *ingestv1.GroupConfigInput {
		c := &ingestv1.GroupConfigInput{}
		f(c)
		return c
	}
	createGroup := func(c *ingestv1.GroupConfigInput) func() error {
		return func() error {
			_, err := api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "x", Config: c})
			return err
		}
	}
	createEndpoint := func(req *ingestv1.CreateEndpointRequest) func() error {
		return func() error {
			req.GroupId, req.AppId = g, app
			if req.Url == "" {
				req.Url = "https://example.com"
			}
			_, err := api.CreateEndpoint(ctx, req)
			return err
		}
	}
	createEvent := func(req *ingestv1.CreateEventRequest) func() error {
		return func() error {
			req.GroupId = g
			_, err := api.CreateEvent(ctx, req)
			return err
		}
	}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"group name missing", func() error { _, err := api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "  "}); return err }, "name is required"},
		{"group name too long", func() error {
			_, err := api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: strings.Repeat("n", 201)})
			return err
		}, "name must be at most"},
		{"hash unknown", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.SignatureHash = str("SHA999") })), "hash must be one of MD5, SHA1"},
		{"hash lowercase", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.SignatureHash = str("sha256") })), "hash must be one of"},
		{"strategy type", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.StrategyType = str("linear") })), "strategy.type must be one of"},
		{"strategy duration", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.StrategyDuration = i64(0) })), "strategy.duration"},
		{"retry count", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.RetryCount = i32(0) })), "retry_count"},
		{"signature header", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.SignatureHeader = str("bad header") })), "signature.header"},
		{"signature header reserved", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.SignatureHeader = str("content-type") })), "signature.header"},
		{"signature format", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.SignatureFormat = str("fancy") })), "format must be one of"},
		{"retention policy", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.RetentionPolicy = str("forever") })), "retention_policy"},
		{"meta event url scheme", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.MetaEventUrl = str("ftp://ops.example.com") })), "config.meta_event.url must be http or https"},
		{"meta event url host", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.MetaEventUrl = str("https://") })), "config.meta_event.url must have a host"},
		{"meta event enabled without url", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.MetaEventIsEnabled = new(true) })), "config.meta_event.url is required"},
		{"meta event secret short", createGroup(cfg(func(c *ingestv1.GroupConfigInput) { c.MetaEventSecret = str("short") })), "config.meta_event.secret must be 8 to 256"},
		{"meta event types unknown", createGroup(cfg(func(c *ingestv1.GroupConfigInput) {
			c.SetMetaEventTypes, c.MetaEventTypes = true, []string{"endpoint.disabled", "endpoint.exploded", "Endpoint.Enabled"}
		})), `config.meta_event.event_types has unknown types "endpoint.exploded", "Endpoint.Enabled"`},
		{"update meta event enabled without url", func() error {
			_, err := api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: g, Config: cfg(func(c *ingestv1.GroupConfigInput) { c.MetaEventIsEnabled = new(true) })})
			return err
		}, "config.meta_event.url is required"},
		{"update group hash", func() error {
			_, err := api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: g, Config: cfg(func(c *ingestv1.GroupConfigInput) { c.SignatureHash = str("MD4") })})
			return err
		}, "hash must be one of"},
		{"update group name", func() error {
			_, err := api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: g, Name: str("")})
			return err
		}, "name is required"},
		{"api key name", func() error {
			_, err := api.CreateAPIKey(ctx, &ingestv1.CreateAPIKeyRequest{GroupId: g})
			return err
		}, "name is required"},
		{"app name", func() error {
			_, err := api.CreateApplication(ctx, &ingestv1.CreateApplicationRequest{GroupId: g})
			return err
		}, "name is required"},
		{"app support email", func() error {
			_, err := api.CreateApplication(ctx, &ingestv1.CreateApplicationRequest{GroupId: g, Name: "a", SupportEmail: "nope"})
			return err
		}, "support_email must be an email"},
		{"app secret short", func() error {
			_, err := api.CreateApplication(ctx, &ingestv1.CreateApplicationRequest{GroupId: g, Name: "a", Secret: "short"})
			return err
		}, "secret must be 8 to 256"},
		{"update app email", func() error {
			_, err := api.UpdateApplication(ctx, &ingestv1.UpdateApplicationRequest{GroupId: g, AppId: app, SupportEmail: str("@")})
			return err
		}, "support_email"},
		{"missing group id", func() error {
			_, err := api.ListApplications(ctx, &ingestv1.ListApplicationsRequest{})
			return err
		}, "group_id is required with the admin key"},
		{"url missing", func() error {
			_, err := api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: app})
			return err
		}, "url is required"},
		{"url scheme", createEndpoint(&ingestv1.CreateEndpointRequest{Url: "ftp://example.com"}), "url must be http or https"},
		{"url no host", createEndpoint(&ingestv1.CreateEndpointRequest{Url: "http://"}), "url must have a host"},
		{"url credentials", createEndpoint(&ingestv1.CreateEndpointRequest{Url: "https://u:p@example.com"}), "url must not contain credentials"},
		{"endpoint secret", createEndpoint(&ingestv1.CreateEndpointRequest{Secret: "short"}), "secret must be"},
		{"http timeout", createEndpoint(&ingestv1.CreateEndpointRequest{HttpTimeout: "soon"}), "http_timeout must be a duration"},
		{"http timeout too long", createEndpoint(&ingestv1.CreateEndpointRequest{HttpTimeout: "1h"}), "http_timeout"},
		{"rate limit", createEndpoint(&ingestv1.CreateEndpointRequest{RateLimit: -1}), "rate_limit must be between"},
		{"rate limit duration", createEndpoint(&ingestv1.CreateEndpointRequest{RateLimitDuration: "1ms"}), "rate_limit_duration"},
		{"events entry", createEndpoint(&ingestv1.CreateEndpointRequest{Events: []string{"ok", " "}}), "events entries"},
		{"endpoint custom header name", createEndpoint(&ingestv1.CreateEndpointRequest{CustomHeaders: map[string]string{"bad header": "v"}}), "custom_headers"},
		{"endpoint custom header ours", createEndpoint(&ingestv1.CreateEndpointRequest{CustomHeaders: map[string]string{"X-Convoy-Signature": "v"}}), "custom_headers"},
		{"endpoint custom header id", createEndpoint(&ingestv1.CreateEndpointRequest{CustomHeaders: map[string]string{"x-convoy-delivery-id": "v"}}), "custom_headers"},
		{"endpoint custom header hop-by-hop", createEndpoint(&ingestv1.CreateEndpointRequest{CustomHeaders: map[string]string{"Transfer-Encoding": "chunked"}}), "custom_headers"},
		{"endpoint custom header value", createEndpoint(&ingestv1.CreateEndpointRequest{CustomHeaders: map[string]string{"X-A": "a\nB: c"}}), "custom_headers"},
		{"endpoint custom headers too many", createEndpoint(&ingestv1.CreateEndpointRequest{CustomHeaders: manyHeaders(51)}), "custom_headers must have at most 50"},
		{"endpoint custom header on update", func() error {
			_, err := api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, SetCustomHeaders: true, CustomHeaders: map[string]string{"Connection": "close"}})
			return err
		}, "custom_headers"},
		{"update endpoint url", func() error {
			_, err := api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, Url: str("mailto:x@example.com")})
			return err
		}, "url must be http or https"},
		{"update endpoint status", func() error {
			_, err := api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, Status: str("pending")})
			return err
		}, "status must be active or inactive"},
		{"update endpoint rate limit 0", func() error {
			_, err := api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, RateLimit: i32(0)})
			return err
		}, "rate_limit"},
		{"expire secret expiration", func() error {
			_, err := api.ExpireSecret(ctx, &ingestv1.ExpireSecretRequest{GroupId: g, AppId: app, EndpointId: ep, Expiration: -1})
			return err
		}, "expiration must be between"},
		{"expire secret short", func() error {
			_, err := api.ExpireSecret(ctx, &ingestv1.ExpireSecretRequest{GroupId: g, AppId: app, EndpointId: ep, Secret: "short"})
			return err
		}, "secret must be"},
		{"event app_id", createEvent(&ingestv1.CreateEventRequest{EventType: "x", Data: []byte(`{}`)}), "app_id is required"},
		{"event type", createEvent(&ingestv1.CreateEventRequest{AppId: app, EventType: " ", Data: []byte(`{}`)}), "event_type is required"},
		{"event data", createEvent(&ingestv1.CreateEventRequest{AppId: app, EventType: "x"}), "data is required"},
		{"event data json", createEvent(&ingestv1.CreateEventRequest{AppId: app, EventType: "x", Data: []byte(`{"a":`)}), "data must be valid JSON"},
		{"idempotency key", createEvent(&ingestv1.CreateEventRequest{AppId: app, EventType: "x", Data: []byte(`1`), IdempotencyKey: strings.Repeat("k", 256)}), "idempotency_key"},
		{"custom header name", createEvent(&ingestv1.CreateEventRequest{AppId: app, EventType: "x", Data: []byte(`1`), CustomHeaders: map[string]string{"bad header": "v"}}), "custom_headers"},
		{"custom header reserved", createEvent(&ingestv1.CreateEventRequest{AppId: app, EventType: "x", Data: []byte(`1`), CustomHeaders: map[string]string{"x-convoy-event-id": "v"}}), "custom_headers"},
		{"custom header hop-by-hop", createEvent(&ingestv1.CreateEventRequest{AppId: app, EventType: "x", Data: []byte(`1`), CustomHeaders: map[string]string{"Upgrade": "h2c"}}), "custom_headers"},
		{"custom header value", createEvent(&ingestv1.CreateEventRequest{AppId: app, EventType: "x", Data: []byte(`1`), CustomHeaders: map[string]string{"X-A": "a\r\nB: c"}}), "custom_headers"},
		{"per_page high", func() error {
			_, err := api.ListApplications(ctx, &ingestv1.ListApplicationsRequest{GroupId: g, Page: &ingestv1.PageRequest{PerPage: 101}})
			return err
		}, "per_page must be between 1 and 100"},
		{"per_page negative", func() error {
			_, err := api.ListEvents(ctx, &ingestv1.ListEventsRequest{GroupId: g, Page: &ingestv1.PageRequest{PerPage: -1}})
			return err
		}, "per_page"},
		{"per_page groups", func() error {
			_, err := api.ListGroups(ctx, &ingestv1.ListGroupsRequest{Page: &ingestv1.PageRequest{PerPage: 1000}})
			return err
		}, "per_page"},
		{"dates reversed", func() error {
			_, err := api.ListEvents(ctx, &ingestv1.ListEventsRequest{GroupId: g,
				StartDate: timestamppb.New(time.Now()), EndDate: timestamppb.New(time.Now().Add(-time.Hour))})
			return err
		}, "end_date"},
		{"delivery dates reversed", func() error {
			_, err := api.ListDeliveries(ctx, &ingestv1.ListDeliveriesRequest{GroupId: g, Filter: &ingestv1.DeliveryFilter{
				StartDate: timestamppb.New(time.Now()), EndDate: timestamppb.New(time.Now().Add(-time.Hour))}})
			return err
		}, "end_date"},
		{"delivery status", func() error {
			_, err := api.ListDeliveries(ctx, &ingestv1.ListDeliveriesRequest{GroupId: g, Filter: &ingestv1.DeliveryFilter{Status: []string{"Failure", "failed"}}})
			return err
		}, "status must be one of Scheduled"},
		{"batch retry status", func() error {
			_, err := api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g, Filter: &ingestv1.DeliveryFilter{Status: []string{"Nope"}}})
			return err
		}, "status must be one of"},
		{"batch retry too many", func() error {
			ids := make([]string, 1001)
			for i := range ids {
				ids[i] = fmt.Sprint(i)
			}
			_, err := api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g, Ids: ids})
			return err
		}, "ids must list at most 1000"},
		{"force resend ids", func() error {
			_, err := api.ForceResendDeliveries(ctx, &ingestv1.ForceResendDeliveriesRequest{GroupId: g})
			return err
		}, "ids is required"},
		{"listen endpoint", func() error {
			_, err := listenReady(ctx, h, &ingestv1.ListenRequest{GroupId: g})
			return err
		}, "endpoint_id is required"},
		{"listen cursor", func() error {
			_, err := listenReady(ctx, h, &ingestv1.ListenRequest{GroupId: g, EndpointId: ep, Cursor: "yesterday"})
			return err
		}, "cursor"},
		{"report reply token", func() error {
			_, err := api.ReportListenOutcome(ctx, &ingestv1.ReportListenOutcomeRequest{GroupId: g, EndpointId: ep,
				ReplyToken: "convoy.dispatch.x", Outcome: &ingestv1.ListenOutcome{DeliveryId: "d"}})
			return err
		}, "reply_token"},
		{"report outcome", func() error {
			_, err := api.ReportListenOutcome(ctx, &ingestv1.ReportListenOutcomeRequest{GroupId: g, EndpointId: ep, ReplyToken: "_INBOX.a.b"})
			return err
		}, "outcome.delivery_id is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.call(), codes.InvalidArgument, c.want) })
	}
}

// Unknown ids are NotFound, for the admin key too, and also when the group
// itself does not exist.
func TestNotFound(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	ep := h.endpoint(t, g, app).Uid
	const none = "01J00000000000000000000000"
	api, ctx := h.api, h.admin
	cases := []struct {
		name string
		call func() error
	}{
		{"GetGroup", func() error { _, err := api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: none}); return err }},
		{"UpdateGroup", func() error {
			_, err := api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: none, Name: str("x")})
			return err
		}},
		{"DeleteGroup", func() error { _, err := api.DeleteGroup(ctx, &ingestv1.DeleteGroupRequest{GroupId: none}); return err }},
		{"CreateAPIKey", func() error {
			_, err := api.CreateAPIKey(ctx, &ingestv1.CreateAPIKeyRequest{GroupId: none, Name: "k"})
			return err
		}},
		{"ListAPIKeys", func() error { _, err := api.ListAPIKeys(ctx, &ingestv1.ListAPIKeysRequest{GroupId: none}); return err }},
		{"RevokeAPIKey", func() error {
			_, err := api.RevokeAPIKey(ctx, &ingestv1.RevokeAPIKeyRequest{GroupId: g, KeyId: none})
			return err
		}},
		{"CreateApplication/group", func() error {
			_, err := api.CreateApplication(ctx, &ingestv1.CreateApplicationRequest{GroupId: none, Name: "a"})
			return err
		}},
		{"ListApplications/group", func() error {
			_, err := api.ListApplications(ctx, &ingestv1.ListApplicationsRequest{GroupId: none})
			return err
		}},
		{"GetApplication", func() error {
			_, err := api.GetApplication(ctx, &ingestv1.GetApplicationRequest{GroupId: g, AppId: none})
			return err
		}},
		{"UpdateApplication", func() error {
			_, err := api.UpdateApplication(ctx, &ingestv1.UpdateApplicationRequest{GroupId: g, AppId: none, Name: str("x")})
			return err
		}},
		{"DeleteApplication", func() error {
			_, err := api.DeleteApplication(ctx, &ingestv1.DeleteApplicationRequest{GroupId: g, AppId: none})
			return err
		}},
		{"CreateEndpoint/app", func() error {
			_, err := api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: none, Url: "https://example.com"})
			return err
		}},
		{"ListEndpoints/app", func() error {
			_, err := api.ListEndpoints(ctx, &ingestv1.ListEndpointsRequest{GroupId: g, AppId: none})
			return err
		}},
		{"GetEndpoint", func() error {
			_, err := api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: g, AppId: app, EndpointId: none})
			return err
		}},
		{"GetEndpoint/wrong app", func() error {
			_, err := api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: g, AppId: none, EndpointId: ep})
			return err
		}},
		{"UpdateEndpoint", func() error {
			_, err := api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: none, Description: str("d")})
			return err
		}},
		{"DeleteEndpoint", func() error {
			_, err := api.DeleteEndpoint(ctx, &ingestv1.DeleteEndpointRequest{GroupId: g, AppId: app, EndpointId: none})
			return err
		}},
		{"ExpireSecret", func() error {
			_, err := api.ExpireSecret(ctx, &ingestv1.ExpireSecretRequest{GroupId: g, AppId: app, EndpointId: none})
			return err
		}},
		{"CreateEvent/app", func() error {
			_, err := api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: g, AppId: none, EventType: "x", Data: []byte(`{}`)})
			return err
		}},
		{"CreateEvent/group", func() error {
			_, err := api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: none, AppId: app, EventType: "x", Data: []byte(`{}`)})
			return err
		}},
		{"ListEvents/group", func() error { _, err := api.ListEvents(ctx, &ingestv1.ListEventsRequest{GroupId: none}); return err }},
		{"GetEvent", func() error {
			_, err := api.GetEvent(ctx, &ingestv1.GetEventRequest{GroupId: g, EventId: none})
			return err
		}},
		{"ListDeliveries/group", func() error {
			_, err := api.ListDeliveries(ctx, &ingestv1.ListDeliveriesRequest{GroupId: none})
			return err
		}},
		{"GetDelivery", func() error {
			_, err := api.GetDelivery(ctx, &ingestv1.GetDeliveryRequest{GroupId: g, DeliveryId: none})
			return err
		}},
		{"ListAttempts", func() error {
			_, err := api.ListAttempts(ctx, &ingestv1.ListAttemptsRequest{GroupId: g, DeliveryId: none})
			return err
		}},
		{"ResendDelivery", func() error {
			_, err := api.ResendDelivery(ctx, &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: none})
			return err
		}},
		{"BatchRetryDeliveries/ids", func() error {
			_, err := api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g, Ids: []string{none}})
			return err
		}},
		{"BatchRetryDeliveries/group", func() error {
			_, err := api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: none})
			return err
		}},
		{"ForceResendDeliveries", func() error {
			_, err := api.ForceResendDeliveries(ctx, &ingestv1.ForceResendDeliveriesRequest{GroupId: g, Ids: []string{none}})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.call(), codes.NotFound, "not found") })
	}
}

func TestGroupsAndKeys(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin

	t.Run("defaults", func(t *testing.T) {
		g := must(api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: " defaults "}))(t)
		c := g.Config
		if g.Uid == "" || g.Name != "defaults" || g.CreatedAt == nil || g.UpdatedAt == nil {
			t.Fatalf("group %v", g)
		}
		if c.Strategy.Type != "default" || c.Strategy.RetryCount < 1 || c.Strategy.Duration < 1 ||
			c.Signature.Header != "X-Convoy-Signature" || c.Signature.Hash != "SHA256" || c.Signature.Format != "simple" || !c.ReplayAttacks {
			t.Fatalf("default config %v", c)
		}
	})

	t.Run("every hash name is accepted", func(t *testing.T) {
		for _, name := range hmacs.Names {
			g, err := api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: name, Config: &ingestv1.GroupConfigInput{SignatureHash: str(name)}})
			if err != nil {
				t.Fatalf("hash %s: %v", name, err)
			}
			if g.Config.Signature.Hash != name {
				t.Fatalf("hash %s stored as %s", name, g.Config.Signature.Hash)
			}
		}
		if len(hmacs.Names) != 12 {
			t.Fatalf("%d hash names, want the glossary's 12", len(hmacs.Names))
		}
	})

	t.Run("create get update", func(t *testing.T) {
		g := must(api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "full", Config: &ingestv1.GroupConfigInput{
			StrategyType: str("exponential-backoff"), RetryCount: i32(5), SignatureHeader: str("X-Sig"),
			SignatureHash: str("SHA512"), SignatureFormat: str("standard-webhooks"), DisableEndpoint: new(bool),
			ReplayAttacks: new(bool), RetentionPolicy: str("720h"),
		}}))(t)
		got := must(api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: g.Uid}))(t)
		c := got.Config
		if c.Strategy.Type != "exponential-backoff" || c.Strategy.RetryCount != 5 || c.Signature.Header != "X-Sig" ||
			c.Signature.Hash != "SHA512" || c.Signature.Format != "standard-webhooks" || c.DisableEndpoint || c.ReplayAttacks || c.RetentionPolicy != "720h" {
			t.Fatalf("stored config %v", c)
		}
		up := must(api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: g.Uid, Name: str("renamed"),
			Config: &ingestv1.GroupConfigInput{SignatureHash: str("SHA1")}}))(t)
		if up.Name != "renamed" || up.Config.Signature.Hash != "SHA1" || up.Config.Strategy.Type != "exponential-backoff" || up.Config.Signature.Header != "X-Sig" {
			t.Fatalf("update changed or lost fields: %v", up)
		}
		if !up.UpdatedAt.AsTime().After(g.UpdatedAt.AsTime()) && !up.UpdatedAt.AsTime().Equal(g.UpdatedAt.AsTime()) {
			t.Fatalf("updated_at went back")
		}
		again := must(api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: g.Uid}))(t)
		if again.Name != "renamed" || again.Config.Signature.Hash != "SHA1" {
			t.Fatalf("update not stored: %v", again)
		}
	})

	t.Run("list newest first", func(t *testing.T) {
		res := must(api.ListGroups(ctx, &ingestv1.ListGroupsRequest{Page: &ingestv1.PageRequest{PerPage: 100}}))(t)
		if len(res.Groups) < 14 || res.Page.PerPage != 100 {
			t.Fatalf("%d groups, page %v", len(res.Groups), res.Page)
		}
		for i := 1; i < len(res.Groups); i++ {
			if res.Groups[i-1].Uid <= res.Groups[i].Uid {
				t.Fatalf("groups not newest first at %d", i)
			}
		}
	})

	t.Run("keys", func(t *testing.T) {
		g := h.group(t, "keys").Uid
		k := must(api.CreateAPIKey(ctx, &ingestv1.CreateAPIKeyRequest{GroupId: g, Name: "ci"}))(t)
		if k.Uid == "" || k.Key == "" || k.Name != "ci" || k.GroupId != g {
			t.Fatalf("key %v", k)
		}
		// Stored hashed: found by the hash, and the plain key is nowhere in it.
		stored, err := h.store.APIKeyByHash(context.Background(), auth.HashKey(k.Key))
		if err != nil || stored.UID != k.Uid || stored.Hash == k.Key || stored.Name != "ci" {
			t.Fatalf("stored key %+v (%v)", stored, err)
		}
		k2 := must(api.CreateAPIKey(ctx, &ingestv1.CreateAPIKeyRequest{GroupId: g, Name: "ops"}))(t)
		if k2.Key == k.Key {
			t.Fatal("two keys are the same")
		}
		list := must(api.ListAPIKeys(ctx, &ingestv1.ListAPIKeysRequest{GroupId: g}))(t)
		if len(list.Keys) != 2 || list.Keys[0].Uid != k2.Uid || list.Keys[1].Uid != k.Uid {
			t.Fatalf("keys %v, want ops then ci", list.Keys)
		}
		for _, lk := range list.Keys {
			if lk.Key != "" {
				t.Fatal("a listed key shows the plain key")
			}
		}
		page1 := must(api.ListAPIKeys(ctx, &ingestv1.ListAPIKeysRequest{GroupId: g, Page: &ingestv1.PageRequest{PerPage: 1}}))(t)
		page2 := must(api.ListAPIKeys(ctx, &ingestv1.ListAPIKeysRequest{GroupId: g, Page: &ingestv1.PageRequest{PerPage: 1, Cursor: page1.Page.NextPageCursor}}))(t)
		if !page1.Page.HasNextPage || page2.Page.HasNextPage || page1.Keys[0].Uid != k2.Uid || page2.Keys[0].Uid != k.Uid {
			t.Fatalf("key pages %v %v", page1, page2)
		}
		// The plain key works for its group.
		if _, err := api.GetGroup(h.as(k.Key), &ingestv1.GetGroupRequest{GroupId: g}); err != nil {
			t.Fatalf("new key: %v", err)
		}
		must(api.RevokeAPIKey(ctx, &ingestv1.RevokeAPIKeyRequest{GroupId: g, KeyId: k.Uid}))(t)
		eventually(t, 5*time.Second, "the revoked key to stop working", func() bool {
			_, err := api.GetGroup(h.as(k.Key), &ingestv1.GetGroupRequest{GroupId: g})
			return status.Code(err) == codes.Unauthenticated
		})
		_, err = api.RevokeAPIKey(ctx, &ingestv1.RevokeAPIKeyRequest{GroupId: g, KeyId: k.Uid})
		wantCode(t, err, codes.NotFound, "")
		// A key is revoked only through its own group.
		other := h.group(t, "other").Uid
		_, err = api.RevokeAPIKey(ctx, &ingestv1.RevokeAPIKeyRequest{GroupId: other, KeyId: k2.Uid})
		wantCode(t, err, codes.NotFound, "")
		if _, err := api.GetGroup(h.as(k2.Key), &ingestv1.GetGroupRequest{GroupId: g}); err != nil {
			t.Fatalf("the other key stopped working: %v", err)
		}
	})

	t.Run("delete removes everything", func(t *testing.T) {
		g := h.group(t, "doomed").Uid
		key := h.keyOf(t, g)
		app := h.app(t, g, "a").Uid
		h.endpoint(t, g, app)
		ev := h.event(t, g, app, "x")
		d := h.deliveries(t, g, nil)[0]
		must(api.DeleteGroup(ctx, &ingestv1.DeleteGroupRequest{GroupId: g}))(t)
		_, err := api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: g})
		wantCode(t, err, codes.NotFound, "")
		_, err = api.GetEvent(ctx, &ingestv1.GetEventRequest{GroupId: g, EventId: ev.Uid})
		wantCode(t, err, codes.NotFound, "")
		if _, err := h.store.DeliveryByID(context.Background(), d.Uid); err == nil {
			t.Fatal("the group's delivery survived")
		}
		eventually(t, 5*time.Second, "the deleted group's key to stop working", func() bool {
			_, err := api.ListGroups(h.as(key), &ingestv1.ListGroupsRequest{})
			return status.Code(err) == codes.Unauthenticated
		})
	})
}

func TestApplicationsAndEndpoints(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	g := h.group(t, "g").Uid

	a := must(api.CreateApplication(ctx, &ingestv1.CreateApplicationRequest{GroupId: g, Name: "shop", Secret: "app-secret-123", SupportEmail: "ops@example.com"}))(t)
	if a.Uid == "" || a.GroupId != g || a.Name != "shop" || a.SupportEmail != "ops@example.com" || a.CreatedAt == nil {
		t.Fatalf("application %v", a)
	}
	t.Run("application get update", func(t *testing.T) {
		got := must(api.GetApplication(ctx, &ingestv1.GetApplicationRequest{GroupId: g, AppId: a.Uid}))(t)
		if got.Name != "shop" {
			t.Fatalf("got %v", got)
		}
		up := must(api.UpdateApplication(ctx, &ingestv1.UpdateApplicationRequest{GroupId: g, AppId: a.Uid, Name: str("store")}))(t)
		if up.Name != "store" || up.SupportEmail != "ops@example.com" {
			t.Fatalf("update %v", up)
		}
	})

	var withAppSecret, generated, own *ingestv1.Endpoint
	t.Run("endpoint secrets", func(t *testing.T) {
		withAppSecret = must(api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: a.Uid, Url: "https://example.com/a"}))(t)
		if withAppSecret.Secret != "app-secret-123" {
			t.Fatalf("endpoint secret %q, want the application's", withAppSecret.Secret)
		}
		own = must(api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: a.Uid, Url: "http://example.com/b", Secret: "endpoint-secret"}))(t)
		if own.Secret != "endpoint-secret" {
			t.Fatalf("endpoint secret %q", own.Secret)
		}
		plain := h.app(t, g, "plain").Uid
		generated = must(api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: plain, Url: "https://example.com/c"}))(t)
		other := must(api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: plain, Url: "https://example.com/d"}))(t)
		if len(generated.Secret) < 32 || generated.Secret == other.Secret {
			t.Fatalf("generated secrets %q %q", generated.Secret, other.Secret)
		}
	})

	t.Run("endpoint defaults", func(t *testing.T) {
		e := withAppSecret
		if e.Status != "active" || !slices.Equal(e.Events, []string{"*"}) || !durationIs(e.HttpTimeout, 30*time.Second) || e.RateLimit != 5000 ||
			!durationIs(e.RateLimitDuration, time.Minute) || len(e.Secrets) != 1 || e.Secrets[0].ExpiresAt != nil || e.AppId != a.Uid || e.GroupId != g {
			t.Fatalf("endpoint %v", e)
		}
	})

	t.Run("endpoint update and list", func(t *testing.T) {
		up := must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: a.Uid, EndpointId: own.Uid,
			Url: str("https://example.com/b2"), SetEvents: true, Events: []string{"invoice.*"}, HttpTimeout: str("10s"), RateLimit: i32(10), RateLimitDuration: str("1s")}))(t)
		if up.Url != "https://example.com/b2" || !slices.Equal(up.Events, []string{"invoice.*"}) || !durationIs(up.HttpTimeout, 10*time.Second) ||
			up.RateLimit != 10 || !durationIs(up.RateLimitDuration, time.Second) || up.Secret != "endpoint-secret" || up.Status != "active" {
			t.Fatalf("update %v", up)
		}
		// Fields left out keep their value.
		up = must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: a.Uid, EndpointId: own.Uid, Description: str("desc")}))(t)
		if up.Url != "https://example.com/b2" || !slices.Equal(up.Events, []string{"invoice.*"}) || up.RateLimit != 10 || up.Description != "desc" {
			t.Fatalf("partial update %v", up)
		}
		list := must(api.ListEndpoints(ctx, &ingestv1.ListEndpointsRequest{GroupId: g, AppId: a.Uid}))(t)
		if len(list.Endpoints) != 2 || list.Endpoints[0].Uid != own.Uid || list.Endpoints[1].Uid != withAppSecret.Uid || list.Page.HasNextPage {
			t.Fatalf("endpoint list %v", list)
		}
		got := must(api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: g, AppId: a.Uid, EndpointId: own.Uid}))(t)
		if got.Description != "desc" {
			t.Fatalf("get %v", got)
		}
	})

	t.Run("endpoint delete", func(t *testing.T) {
		must(api.DeleteEndpoint(ctx, &ingestv1.DeleteEndpointRequest{GroupId: g, AppId: a.Uid, EndpointId: own.Uid}))(t)
		_, err := api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: g, AppId: a.Uid, EndpointId: own.Uid})
		wantCode(t, err, codes.NotFound, "endpoint not found")
		_, err = api.DeleteEndpoint(ctx, &ingestv1.DeleteEndpointRequest{GroupId: g, AppId: a.Uid, EndpointId: own.Uid})
		wantCode(t, err, codes.NotFound, "")
		// A deleted endpoint gets no more deliveries.
		ev := h.event(t, g, a.Uid, "x")
		ds := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid})
		if len(ds) != 1 || ds[0].EndpointId != withAppSecret.Uid {
			t.Fatalf("deliveries after delete %v", ds)
		}
	})

	t.Run("application delete takes its endpoints", func(t *testing.T) {
		must(api.DeleteApplication(ctx, &ingestv1.DeleteApplicationRequest{GroupId: g, AppId: a.Uid}))(t)
		_, err := api.GetApplication(ctx, &ingestv1.GetApplicationRequest{GroupId: g, AppId: a.Uid})
		wantCode(t, err, codes.NotFound, "application not found")
		if _, err := h.store.EndpointByID(context.Background(), withAppSecret.Uid); err == nil {
			t.Fatal("endpoint survived its application")
		}
		_, err = api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: g, AppId: a.Uid, EventType: "x", Data: []byte(`1`)})
		wantCode(t, err, codes.NotFound, "application not found")
	})
}

// Rotating a secret: the new one is current, the old one keeps signing until
// its expires_at, and secrets already expired are dropped at the next rotation.
func TestExpireSecret(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	ep := must(api.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: app, Url: "https://example.com", Secret: "first-secret"}))(t)
	req := func(secret string, expiration int64) *ingestv1.ExpireSecretRequest {
		return &ingestv1.ExpireSecretRequest{GroupId: g, AppId: app, EndpointId: ep.Uid, Secret: secret, Expiration: expiration}
	}

	before := time.Now()
	e := must(api.ExpireSecret(ctx, req("second-secret", 3600)))(t)
	if e.Secret != "second-secret" || len(e.Secrets) != 2 {
		t.Fatalf("after rotation %v", e)
	}
	if e.Secrets[0].Value != "second-secret" || e.Secrets[0].ExpiresAt != nil {
		t.Fatalf("current secret %v", e.Secrets[0])
	}
	old := e.Secrets[1]
	if old.Value != "first-secret" || old.ExpiresAt == nil {
		t.Fatalf("old secret %v, want it to expire", old)
	}
	if exp := old.ExpiresAt.AsTime(); exp.Before(before.Add(3599*time.Second)) || exp.After(time.Now().Add(3601*time.Second)) {
		t.Fatalf("old secret expires at %v, want an hour from now", exp)
	}
	stored := must(api.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{GroupId: g, AppId: app, EndpointId: ep.Uid}))(t)
	if stored.Secret != "second-secret" || len(stored.Secrets) != 2 {
		t.Fatalf("stored %v", stored)
	}

	// A generated secret, and the previous ones end now.
	e = must(api.ExpireSecret(ctx, req("", 0)))(t)
	if len(e.Secret) < 32 || e.Secret == "second-secret" || len(e.Secrets) != 3 {
		t.Fatalf("after second rotation %v", e)
	}
	for _, s := range e.Secrets[1:] {
		if s.ExpiresAt == nil || s.ExpiresAt.AsTime().After(time.Now()) {
			t.Fatalf("secret %v should have expired", s)
		}
	}
	time.Sleep(5 * time.Millisecond)
	e = must(api.ExpireSecret(ctx, req("fourth-secret", 60)))(t)
	if len(e.Secrets) != 2 || e.Secrets[0].Value != "fourth-secret" || e.Secrets[1].ExpiresAt == nil {
		t.Fatalf("expired secrets were not dropped: %v", e.Secrets)
	}
}

// An event reaches every endpoint of its application whose patterns match
// its type, and each Scheduled delivery has its dispatch task queued.
func TestEventFanOut(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	otherApp := h.app(t, g, "b").Uid
	eps := map[string]string{}
	for name, events := range map[string][]string{
		"all":       nil,
		"star":      {"*"},
		"exact":     {"invoice.paid"},
		"wildcard":  {"invoice.*"},
		"uppercase": {"Invoice.paid"},
		"user":      {"user.created"},
		"multi":     {"user.created", "invoice.paid"},
		"suffix":    {"*.paid"},
		"inactive":  {"*"},
	} {
		eps[name] = h.endpoint(t, g, app, events...).Uid
	}
	h.endpoint(t, g, otherApp) // another application's endpoint never gets app's events
	must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: eps["inactive"], Status: str("inactive")}))(t)

	cases := []struct {
		eventType string
		want      []string
	}{
		{"invoice.paid", []string{"all", "star", "exact", "wildcard", "multi", "suffix", "inactive"}},
		{"invoice.line.added", []string{"all", "star", "wildcard", "inactive"}},
		{"Invoice.paid", []string{"all", "star", "uppercase", "suffix", "inactive"}},
		{"user.created", []string{"all", "star", "user", "multi", "inactive"}},
		{"invoice", []string{"all", "star", "inactive"}},
	}
	for _, c := range cases {
		t.Run(c.eventType, func(t *testing.T) {
			data := []byte(`{"b": 2,  "a": "caf\u00e9 ☕"}`)
			ev := must(api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: g, AppId: app, EventType: c.eventType, Data: data,
				CustomHeaders: map[string]string{"X-Tenant": "t1"}}))(t)
			h.storeQueued(t, ev)
			if ev.Uid == "" || ev.EventType != c.eventType || string(ev.Data) != string(data) || ev.CustomHeaders["X-Tenant"] != "t1" || ev.CreatedAt == nil {
				t.Fatalf("event %v", ev)
			}
			got := must(api.GetEvent(ctx, &ingestv1.GetEventRequest{GroupId: g, EventId: ev.Uid}))(t)
			if string(got.Data) != string(data) {
				t.Fatalf("stored data %q, want the bytes sent", got.Data)
			}
			ds := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid})
			var names []string
			for _, d := range ds {
				name := ""
				for n, id := range eps {
					if id == d.EndpointId {
						name = n
					}
				}
				if name == "" {
					t.Fatalf("delivery to an endpoint of another application: %v", d)
				}
				names = append(names, name)
				if d.EventId != ev.Uid || d.AppId != app || d.GroupId != g || d.EventType != c.eventType {
					t.Fatalf("delivery %v", d)
				}
				task := h.task(t, d.Uid)
				if name == "inactive" {
					if d.Status != model.StatusDiscarded || task != nil || d.Metadata.NextSendTime != nil {
						t.Fatalf("delivery to the inactive endpoint: %v, task %v; want Discarded and not queued", d, task)
					}
					continue
				}
				if d.Status != model.StatusScheduled || d.Metadata.NumTrials != 0 || d.Metadata.RetryLimit < 1 || d.Metadata.NextSendTime == nil {
					t.Fatalf("delivery %v, want Scheduled", d)
				}
				if task == nil {
					t.Fatalf("no dispatch task for delivery %s", d.Uid)
				}
				if task.DeliveryId != d.Uid || task.EventId != ev.Uid || task.EndpointId != d.EndpointId || task.Attempt != 1 ||
					string(task.Data) != string(data) || task.CustomHeaders["X-Tenant"] != "t1" {
					t.Fatalf("task %v for delivery %v", task, d)
				}
			}
			slices.Sort(names)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("event %q reached %v, want %v", c.eventType, names, want)
			}
		})
	}

	t.Run("no endpoints", func(t *testing.T) {
		lonely := h.app(t, g, "lonely").Uid
		ev := h.event(t, g, lonely, "x")
		if ds := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid}); len(ds) != 0 {
			t.Fatalf("deliveries %v", ds)
		}
		must(api.GetEvent(ctx, &ingestv1.GetEventRequest{GroupId: g, EventId: ev.Uid}))(t)
	})

	t.Run("data too large for the queue", func(t *testing.T) {
		big := []byte(`"` + strings.Repeat("x", 1<<20-64) + `"`)
		var wg sync.WaitGroup
		var small *ingestv1.Event
		var smallErr error
		wg.Go(func() {
			small, smallErr = api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: g, AppId: app, EventType: "small", Data: []byte(`{}`)})
		})
		_, err := api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: g, AppId: app, EventType: "big", Data: big})
		wg.Wait()
		wantCode(t, err, codes.InvalidArgument, "data is too large")
		if smallErr != nil {
			t.Fatalf("an event sent alongside the oversized one failed: %v", smallErr)
		}
		if evs := must(api.ListEvents(ctx, &ingestv1.ListEventsRequest{GroupId: g, EventType: "big"}))(t); len(evs.Events) != 0 {
			t.Fatal("the refused event was stored")
		}
		for _, d := range h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: small.Uid}) {
			if d.Status == model.StatusScheduled && h.task(t, d.Uid) == nil {
				t.Fatalf("delivery %s of the small event was not queued", d.Uid)
			}
		}
		// Large data that fits is queued whole.
		large := []byte(`"` + strings.Repeat("y", 900<<10) + `"`)
		ev := must(api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: g, AppId: app, EventType: "large", Data: large}))(t)
		ds := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid})
		if len(ds) == 0 {
			t.Fatal("no deliveries for the large event")
		}
		for _, d := range ds {
			if d.Status != model.StatusScheduled {
				continue
			}
			if task := h.task(t, d.Uid); task == nil || len(task.Data) != len(large) {
				t.Fatalf("large event's task for %s missing or cut", d.Uid)
			}
		}
	})

	t.Run("new endpoint is used at once", func(t *testing.T) {
		fresh := h.app(t, g, "fresh").Uid
		h.event(t, g, fresh, "x") // caches the (empty) endpoint list
		e := h.endpoint(t, g, fresh)
		ev := h.event(t, g, fresh, "x")
		if ds := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid}); len(ds) != 1 || ds[0].EndpointId != e.Uid {
			t.Fatalf("deliveries %v", ds)
		}
	})
}

// The same idempotency key in the same group answers the original event and
// creates nothing; in another group it is a different key.
func TestIdempotency(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	h.endpoint(t, g, app)
	h.endpoint(t, g, app)
	send := func(group, app, data string) (*ingestv1.Event, error) {
		return api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: group, AppId: app, EventType: "x", Data: []byte(data), IdempotencyKey: "order-1"})
	}

	first := must(send(g, app, `{"v":1}`))(t)
	second := must(send(g, app, `{"v":2}`))(t)
	if second.Uid != first.Uid || string(second.Data) != `{"v":1}` || second.IdempotencyKey != "order-1" {
		t.Fatalf("repeat answered %v, want the original %v", second, first)
	}
	if n := h.queued(t); n != 2 {
		t.Fatalf("%d tasks queued, want 2 (one per endpoint, none for the repeat)", n)
	}
	h.storeQueued(t, first)
	if ds := h.deliveries(t, g, nil); len(ds) != 2 {
		t.Fatalf("%d deliveries, want 2 (one per endpoint, none for the repeat)", len(ds))
	}
	if evs := must(api.ListEvents(ctx, &ingestv1.ListEventsRequest{GroupId: g}))(t); len(evs.Events) != 1 {
		t.Fatalf("%d events, want 1", len(evs.Events))
	}

	// A group key of the same group gets the same answer.
	third := must(api.CreateEvent(h.as(h.keyOf(t, g)), &ingestv1.CreateEventRequest{GroupId: g, AppId: app, EventType: "x", Data: []byte(`{}`), IdempotencyKey: "order-1"}))(t)
	if third.Uid != first.Uid {
		t.Fatalf("group key got a new event")
	}

	// Another group: a new event.
	g2 := h.group(t, "g2").Uid
	app2 := h.app(t, g2, "a").Uid
	h.endpoint(t, g2, app2)
	other := must(send(g2, app2, `{"v":3}`))(t)
	if other.Uid == first.Uid {
		t.Fatal("the same key in another group answered the first group's event")
	}

	// Concurrent first requests: one event, one set of deliveries.
	const n = 8
	uids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ev, err := api.CreateEvent(ctx, &ingestv1.CreateEventRequest{GroupId: g, AppId: app, EventType: "x", Data: []byte(`{}`), IdempotencyKey: "race"})
			if err != nil {
				t.Errorf("concurrent create: %v", err)
				return
			}
			uids[i] = ev.Uid
		})
	}
	wg.Wait()
	for _, u := range uids {
		if u != uids[0] {
			t.Fatalf("concurrent requests got events %v", uids)
		}
	}
	if n := h.queued(t); n != 2+1+2 {
		t.Fatalf("%d tasks queued in all, want 5 (2 for the first event, 1 in the other group, 2 for the raced one)", n)
	}
	h.storeQueued(t, must(api.GetEvent(ctx, &ingestv1.GetEventRequest{GroupId: g, EventId: uids[0]}))(t))
	if ds := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: uids[0]}); len(ds) != 2 {
		t.Fatalf("%d deliveries for the raced event, want 2", len(ds))
	}
	if ds := h.deliveries(t, g, nil); len(ds) != 4 {
		t.Fatalf("%d deliveries in all, want 4", len(ds))
	}
}

// Lists are newest first and cursor paging walks them without duplicates
// or gaps.
func TestPaging(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	g := h.group(t, "g").Uid
	var created []string
	for i := range 25 {
		created = append(created, h.app(t, g, fmt.Sprint("app-", i)).Uid)
	}

	t.Run("applications", func(t *testing.T) {
		var seen []*ingestv1.Application
		cursor := ""
		for pageNo := 0; ; pageNo++ {
			res := must(api.ListApplications(ctx, &ingestv1.ListApplicationsRequest{GroupId: g, Page: &ingestv1.PageRequest{PerPage: 10, Cursor: cursor}}))(t)
			wantLen, wantNext := 10, true
			if pageNo == 2 {
				wantLen, wantNext = 5, false
			}
			if len(res.Applications) != wantLen || res.Page.HasNextPage != wantNext || res.Page.PerPage != 10 {
				t.Fatalf("page %d: %d items, page %v", pageNo, len(res.Applications), res.Page)
			}
			if wantNext == (res.Page.NextPageCursor == "") {
				t.Fatalf("page %d: cursor %q with has_next_page %v", pageNo, res.Page.NextPageCursor, wantNext)
			}
			seen = append(seen, res.Applications...)
			if !res.Page.HasNextPage {
				break
			}
			cursor = res.Page.NextPageCursor
		}
		checkNewestFirst(t, len(created), func(i int) (string, time.Time) { return seen[i].Uid, seen[i].CreatedAt.AsTime() }, len(seen))
		ids := make([]string, len(seen))
		for i, a := range seen {
			ids[i] = a.Uid
		}
		want := slices.Clone(created)
		slices.Sort(want)
		slices.Reverse(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("walked %v, want every application once, newest first", ids)
		}
	})

	t.Run("default and bounds", func(t *testing.T) {
		res := must(api.ListApplications(ctx, &ingestv1.ListApplicationsRequest{GroupId: g}))(t)
		if len(res.Applications) != 20 || !res.Page.HasNextPage || res.Page.PerPage != 20 {
			t.Fatalf("default page: %d items, %v", len(res.Applications), res.Page)
		}
		res = must(api.ListApplications(ctx, &ingestv1.ListApplicationsRequest{GroupId: g, Page: &ingestv1.PageRequest{PerPage: 100}}))(t)
		if len(res.Applications) != 25 || res.Page.HasNextPage || res.Page.NextPageCursor != "" {
			t.Fatalf("max page: %d items, %v", len(res.Applications), res.Page)
		}
		res = must(api.ListApplications(ctx, &ingestv1.ListApplicationsRequest{GroupId: g, Page: &ingestv1.PageRequest{PerPage: 25}}))(t)
		if len(res.Applications) != 25 || res.Page.HasNextPage {
			t.Fatalf("exact page: %d items, %v", len(res.Applications), res.Page)
		}
	})

	t.Run("events with filters", func(t *testing.T) {
		a, b := created[0], created[1]
		var all []*ingestv1.Event
		for i := range 12 {
			app, typ := a, "invoice.paid"
			if i%3 == 0 {
				app = b
			}
			if i%2 == 0 {
				typ = "user.created"
			}
			all = append(all, h.event(t, g, app, typ))
			if i == 5 {
				time.Sleep(5 * time.Millisecond) // a clear boundary for the date filter
			}
		}
		list := func(req *ingestv1.ListEventsRequest) []*ingestv1.Event {
			t.Helper()
			req.GroupId = g
			var out []*ingestv1.Event
			for {
				req.Page = &ingestv1.PageRequest{PerPage: 3, Cursor: req.GetPage().GetCursor()}
				res := must(api.ListEvents(ctx, req))(t)
				out = append(out, res.Events...)
				if !res.Page.HasNextPage {
					break
				}
				req.Page.Cursor = res.Page.NextPageCursor
			}
			checkNewestFirst(t, len(out), func(i int) (string, time.Time) { return out[i].Uid, out[i].CreatedAt.AsTime() }, len(out))
			return out
		}
		count := func(f func(*ingestv1.Event) bool) int {
			n := 0
			for _, e := range all {
				if f(e) {
					n++
				}
			}
			return n
		}
		if got := list(&ingestv1.ListEventsRequest{}); len(got) != 12 {
			t.Fatalf("all events: %d", len(got))
		}
		if got := list(&ingestv1.ListEventsRequest{AppId: b}); len(got) != count(func(e *ingestv1.Event) bool { return e.AppId == b }) {
			t.Fatalf("app filter: %d", len(got))
		}
		for _, e := range list(&ingestv1.ListEventsRequest{AppId: a, EventType: "user.created"}) {
			if e.AppId != a || e.EventType != "user.created" {
				t.Fatalf("filtered list has %v", e)
			}
		}
		if got := list(&ingestv1.ListEventsRequest{EventType: "invoice.paid"}); len(got) != 6 {
			t.Fatalf("type filter: %d", len(got))
		}
		if got := list(&ingestv1.ListEventsRequest{EventType: "Invoice.paid"}); len(got) != 0 {
			t.Fatalf("type filter is case-insensitive: %d", len(got))
		}
		// Dates are inclusive at the store's millisecond resolution; an
		// answered created_at selects its own event.
		between := func(start, end *timestamppb.Timestamp) []string {
			var ids []string
			for _, e := range all {
				at := e.CreatedAt.AsTime()
				if (start == nil || !at.Before(start.AsTime())) && (end == nil || !at.After(end.AsTime())) {
					ids = append(ids, e.Uid)
				}
			}
			slices.Sort(ids)
			return ids
		}
		uids := func(evs []*ingestv1.Event) []string {
			var ids []string
			for _, e := range evs {
				ids = append(ids, e.Uid)
			}
			slices.Sort(ids)
			return ids
		}
		for _, r := range []struct{ start, end *timestamppb.Timestamp }{
			{all[6].CreatedAt, nil}, {nil, all[5].CreatedAt}, {all[3].CreatedAt, all[8].CreatedAt}, {all[4].CreatedAt, all[4].CreatedAt},
		} {
			got := uids(list(&ingestv1.ListEventsRequest{StartDate: r.start, EndDate: r.end}))
			want := between(r.start, r.end)
			if !slices.Equal(got, want) {
				t.Fatalf("dates %v..%v: got %v, want %v", r.start.AsTime(), r.end.AsTime(), got, want)
			}
		}
		// The boundary made by the pause splits the events in two halves.
		if n := len(between(all[6].CreatedAt, nil)); n != 6 {
			t.Fatalf("%d events from the seventh on, want 6", n)
		}
		if !slices.Contains(between(all[4].CreatedAt, all[4].CreatedAt), all[4].Uid) {
			t.Fatal("an event's own created_at does not select it")
		}
	})
}

// checkNewestFirst checks that ids strictly descend (no duplicates) and that
// creation times do not increase (within the ids' millisecond resolution).
func checkNewestFirst(t *testing.T, _ int, at func(int) (string, time.Time), n int) {
	t.Helper()
	for i := 1; i < n; i++ {
		prevID, prevT := at(i - 1)
		id, ts := at(i)
		if prevID <= id {
			t.Fatalf("item %d (%s) is not older than item %d (%s)", i, id, i-1, prevID)
		}
		if ts.After(prevT.Add(2 * time.Millisecond)) {
			t.Fatalf("item %d created at %v, after item %d at %v", i, ts, i-1, prevT)
		}
	}
}

func TestDeliveryFilters(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "g").Uid
	a1, a2 := h.app(t, g, "a1").Uid, h.app(t, g, "a2").Uid
	e1, e2 := h.endpoint(t, g, a1).Uid, h.endpoint(t, g, a1).Uid
	e3 := h.endpoint(t, g, a2).Uid
	var events []string
	for _, e := range []struct{ app, typ string }{{a1, "x"}, {a1, "x"}, {a1, "x"}, {a2, "y"}} {
		events = append(events, h.event(t, g, e.app, e.typ).Uid)
	}
	within := func(d *ingestv1.Delivery, from, to time.Time) bool {
		at := d.CreatedAt.AsTime()
		return !at.Before(from) && !at.After(to)
	}
	all := h.deliveries(t, g, nil)
	// all is newest first: the range holds the second and third oldest.
	from, to := all[len(all)-2].CreatedAt.AsTime(), all[len(all)-3].CreatedAt.AsTime()
	if len(all) != 7 {
		t.Fatalf("%d deliveries, want 7", len(all))
	}
	checkNewestFirst(t, 0, func(i int) (string, time.Time) { return all[i].Uid, all[i].CreatedAt.AsTime() }, len(all))
	// Statuses: the newest two Failure, the next one Success.
	h.setStatus(t, model.StatusFailure, all[0].Uid, all[1].Uid)
	h.setStatus(t, model.StatusSuccess, all[2].Uid)

	cases := []struct {
		name   string
		filter *ingestv1.DeliveryFilter
		keep   func(*ingestv1.Delivery) bool
	}{
		{"event", &ingestv1.DeliveryFilter{EventId: events[0]}, func(d *ingestv1.Delivery) bool { return d.EventId == events[0] }},
		{"app", &ingestv1.DeliveryFilter{AppId: a2}, func(d *ingestv1.Delivery) bool { return d.AppId == a2 }},
		{"endpoint", &ingestv1.DeliveryFilter{EndpointId: e2}, func(d *ingestv1.Delivery) bool { return d.EndpointId == e2 }},
		{"status", &ingestv1.DeliveryFilter{Status: []string{"Failure"}}, func(d *ingestv1.Delivery) bool { return d.Uid == all[0].Uid || d.Uid == all[1].Uid }},
		{"statuses", &ingestv1.DeliveryFilter{Status: []string{"Failure", "Success"}}, func(d *ingestv1.Delivery) bool {
			return d.Uid == all[0].Uid || d.Uid == all[1].Uid || d.Uid == all[2].Uid
		}},
		{"scheduled", &ingestv1.DeliveryFilter{Status: []string{"Scheduled"}}, func(d *ingestv1.Delivery) bool {
			return d.Uid != all[0].Uid && d.Uid != all[1].Uid && d.Uid != all[2].Uid
		}},
		{"combined", &ingestv1.DeliveryFilter{AppId: a1, EndpointId: e1, Status: []string{"Scheduled", "Failure"}}, func(d *ingestv1.Delivery) bool {
			return d.AppId == a1 && d.EndpointId == e1 && d.Uid != all[2].Uid
		}},
		{"no match", &ingestv1.DeliveryFilter{EndpointId: e3, EventId: events[0]}, func(*ingestv1.Delivery) bool { return false }},
		{"event type", &ingestv1.DeliveryFilter{EventType: "y"}, func(d *ingestv1.Delivery) bool { return d.EventId == events[3] }},
		{"time range", &ingestv1.DeliveryFilter{StartDate: timestamppb.New(from), EndDate: timestamppb.New(to)}, func(d *ingestv1.Delivery) bool {
			return within(d, from, to)
		}},
		{"from a time on, with a type", &ingestv1.DeliveryFilter{EventType: "x", StartDate: timestamppb.New(from)}, func(d *ingestv1.Delivery) bool {
			return d.EventId != events[3] && within(d, from, time.Now().Add(time.Hour))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []string
			for _, d := range all {
				if c.keep(d) {
					want = append(want, d.Uid)
				}
			}
			// Walk in pages of 2 to check paging with filters too.
			var got []string
			p := &ingestv1.PageRequest{PerPage: 2}
			for {
				res := must(h.api.ListDeliveries(h.admin, &ingestv1.ListDeliveriesRequest{GroupId: g, Filter: c.filter, Page: p}))(t)
				for _, d := range res.Deliveries {
					got = append(got, d.Uid)
				}
				if !res.Page.HasNextPage {
					break
				}
				p = &ingestv1.PageRequest{PerPage: 2, Cursor: res.Page.NextPageCursor}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

// Resend only Failure or Discarded deliveries; forceresend only Success;
// batchretry by ids or by filter. Each restart gets a fresh budget and a
// new dispatch task.
func TestResendRules(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	ep := h.endpoint(t, g, app).Uid
	fresh := func(t *testing.T, st string) string {
		ev := h.event(t, g, app, "x")
		id := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid})[0].Uid
		if st != model.StatusScheduled {
			num := int32(3)
			if err := h.store.UpdateDeliveries(context.Background(), []store.DeliveryUpdate{{ID: id, Status: st, Trials: &store.Trials{NumTrials: num}, At: time.Now().UTC()}}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	checkRestarted := func(t *testing.T, id string, generation int32) {
		t.Helper()
		d := must(api.GetDelivery(ctx, &ingestv1.GetDeliveryRequest{GroupId: g, DeliveryId: id}))(t)
		if d.Status != model.StatusScheduled || d.Metadata.NumTrials != 0 || d.Metadata.NextSendTime == nil {
			t.Fatalf("restarted delivery %v", d)
		}
		task := h.task(t, id)
		if task == nil || task.Generation != generation || task.Attempt != 1 {
			t.Fatalf("dispatch task %v, want generation %d attempt 1", task, generation)
		}
	}

	t.Run("resend", func(t *testing.T) {
		for _, st := range []string{model.StatusFailure, model.StatusDiscarded} {
			id := fresh(t, st)
			d := must(api.ResendDelivery(ctx, &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: id}))(t)
			if d.Status != model.StatusScheduled || d.Uid != id {
				t.Fatalf("resend of %s answered %v", st, d)
			}
			checkRestarted(t, id, 1)
		}
		for _, st := range []string{model.StatusScheduled, model.StatusProcessing, model.StatusRetry, model.StatusSuccess} {
			id := fresh(t, st)
			_, err := api.ResendDelivery(ctx, &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: id})
			wantCode(t, err, codes.FailedPrecondition, "only Failure or Discarded")
		}
	})

	t.Run("resend twice", func(t *testing.T) {
		id := fresh(t, model.StatusFailure)
		must(api.ResendDelivery(ctx, &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: id}))(t)
		h.setStatus(t, model.StatusFailure, id)
		must(api.ResendDelivery(ctx, &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: id}))(t)
		checkRestarted(t, id, 2)
	})

	t.Run("force resend", func(t *testing.T) {
		ok, failed := fresh(t, model.StatusSuccess), fresh(t, model.StatusFailure)
		res := must(api.ForceResendDeliveries(ctx, &ingestv1.ForceResendDeliveriesRequest{GroupId: g, Ids: []string{ok, failed}}))(t)
		if res.Resent != 1 || !slices.Equal(res.Ids, []string{ok}) {
			t.Fatalf("force resend %v, want only the Success one", res)
		}
		checkRestarted(t, ok, 1)
		d := must(api.GetDelivery(ctx, &ingestv1.GetDeliveryRequest{GroupId: g, DeliveryId: failed}))(t)
		if d.Status != model.StatusFailure {
			t.Fatalf("force resend touched a Failure delivery: %v", d)
		}
	})

	t.Run("batch retry by ids", func(t *testing.T) {
		f, dis, ok, sched := fresh(t, model.StatusFailure), fresh(t, model.StatusDiscarded), fresh(t, model.StatusSuccess), fresh(t, model.StatusScheduled)
		res := must(api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g, Ids: []string{f, dis, ok, sched}}))(t)
		slices.Sort(res.Ids)
		want := []string{f, dis}
		slices.Sort(want)
		if res.Retried != 2 || !slices.Equal(res.Ids, want) {
			t.Fatalf("batch retry %v, want %v", res, want)
		}
		checkRestarted(t, f, 1)
		checkRestarted(t, dis, 1)
		if d := must(api.GetDelivery(ctx, &ingestv1.GetDeliveryRequest{GroupId: g, DeliveryId: ok}))(t); d.Status != model.StatusSuccess {
			t.Fatalf("batch retry touched a Success delivery: %v", d)
		}
	})

	t.Run("batch retry by filter", func(t *testing.T) {
		g2 := h.group(t, "g2").Uid
		app2 := h.app(t, g2, "a").Uid
		e1 := h.endpoint(t, g2, app2).Uid
		h.endpoint(t, g2, app2, "only.this")
		var e1Failed, e2Failed []string
		for range 3 {
			ev := h.event(t, g2, app2, "only.this")
			for _, d := range h.deliveries(t, g2, &ingestv1.DeliveryFilter{EventId: ev.Uid}) {
				h.setStatus(t, model.StatusFailure, d.Uid)
				if d.EndpointId == e1 {
					e1Failed = append(e1Failed, d.Uid)
				} else {
					e2Failed = append(e2Failed, d.Uid)
				}
			}
		}
		okID := h.deliveries(t, g2, &ingestv1.DeliveryFilter{EndpointId: e1})[0].Uid
		h.setStatus(t, model.StatusSuccess, okID)
		e1Failed = slices.DeleteFunc(e1Failed, func(id string) bool { return id == okID })

		res := must(api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g2, Filter: &ingestv1.DeliveryFilter{EndpointId: e1}}))(t)
		slices.Sort(res.Ids)
		slices.Sort(e1Failed)
		if int(res.Retried) != len(e1Failed) || !slices.Equal(res.Ids, e1Failed) {
			t.Fatalf("batch retry by endpoint %v, want %v", res, e1Failed)
		}
		for _, id := range e2Failed {
			if d := must(api.GetDelivery(ctx, &ingestv1.GetDeliveryRequest{GroupId: g2, DeliveryId: id}))(t); d.Status != model.StatusFailure {
				t.Fatalf("batch retry touched another endpoint's delivery %v", d)
			}
		}
		// Nothing left to retry on e1; a filter naming Success retries nothing.
		res = must(api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g2, Filter: &ingestv1.DeliveryFilter{EndpointId: e1}}))(t)
		if res.Retried != 0 || len(res.Ids) != 0 {
			t.Fatalf("second batch retry %v", res)
		}
		res = must(api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g2, Filter: &ingestv1.DeliveryFilter{Status: []string{"Success"}}}))(t)
		if res.Retried != 0 {
			t.Fatalf("batch retry of Success deliveries %v", res)
		}
		// No filter at all: every Failure and Discarded delivery of the group.
		res = must(api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g2}))(t)
		if int(res.Retried) != len(e2Failed) {
			t.Fatalf("batch retry of the whole group %v, want %d", res, len(e2Failed))
		}
	})

	t.Run("inactive endpoint", func(t *testing.T) {
		id := fresh(t, model.StatusFailure)
		must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, Status: str("inactive")}))(t)
		defer func() {
			must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, Status: str("active")}))(t)
		}()
		_, err := api.ResendDelivery(ctx, &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: id})
		wantCode(t, err, codes.FailedPrecondition, "inactive")
		res := must(api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: g, Ids: []string{id}}))(t)
		if res.Retried != 0 {
			t.Fatalf("batch retry to an inactive endpoint %v", res)
		}
	})

	t.Run("attempts oldest first", func(t *testing.T) {
		id := fresh(t, model.StatusScheduled)
		none := must(api.ListAttempts(ctx, &ingestv1.ListAttemptsRequest{GroupId: g, DeliveryId: id}))(t)
		if len(none.Attempts) != 0 {
			t.Fatalf("attempts of a new delivery %v", none.Attempts)
		}
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		for i, code := range []int32{500, 200} {
			at := modelAttempt(fmt.Sprint("att-", i), code, t0.Add(time.Duration(i)*time.Second))
			if err := h.store.UpdateDeliveries(context.Background(), []store.DeliveryUpdate{{ID: id, Status: model.StatusRetry, Attempt: &at, At: time.Now().UTC()}}); err != nil {
				t.Fatal(err)
			}
		}
		res := must(api.ListAttempts(ctx, &ingestv1.ListAttemptsRequest{GroupId: g, DeliveryId: id}))(t)
		if len(res.Attempts) != 2 || res.Attempts[0].Uid != "att-0" || res.Attempts[1].Uid != "att-1" ||
			res.Attempts[0].HttpStatus != 500 || res.Attempts[0].Status || !res.Attempts[1].Status || res.Attempts[0].DeliveryId != id ||
			res.Attempts[0].RequestHttpHeader["X-A"] != "1" || res.Attempts[0].Url != "https://example.com/hook" {
			t.Fatalf("attempts %v", res.Attempts)
		}
	})
}

// Re-enabling an inactive endpoint makes it pending and replays the
// deliveries held back while it was inactive.
func TestReenableReplaysDiscarded(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	ep := h.endpoint(t, g, app).Uid
	off := must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, Status: str("inactive")}))(t)
	if off.Status != "inactive" {
		t.Fatalf("status %q", off.Status)
	}
	var held []string
	for range 3 {
		ev := h.event(t, g, app, "x")
		d := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid})
		if len(d) != 1 || d[0].Status != model.StatusDiscarded {
			t.Fatalf("delivery to an inactive endpoint %v", d)
		}
		held = append(held, d[0].Uid)
	}
	on := must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, Status: str("active")}))(t)
	if on.Status != "pending" {
		t.Fatalf("re-enabled endpoint is %q, want pending until a delivery succeeds", on.Status)
	}
	eventually(t, 10*time.Second, "the held-back deliveries to be replayed", func() bool {
		ds := h.deliveries(t, g, &ingestv1.DeliveryFilter{Status: []string{model.StatusScheduled}})
		return len(ds) == 3
	})
	// A replayed delivery is marked Scheduled, then its task is queued: wait
	// for the tasks too.
	eventually(t, 10*time.Second, "the replayed deliveries' tasks", func() bool {
		for _, id := range held {
			if h.task(t, id) == nil {
				return false
			}
		}
		return true
	})
	for _, id := range held {
		if task := h.task(t, id); task == nil || task.Generation != 1 {
			t.Fatalf("replayed delivery %s has task %v", id, task)
		}
	}
	// Active again on an endpoint that is not inactive changes nothing.
	again := must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, Status: str("active")}))(t)
	if again.Status != "pending" {
		t.Fatalf("status %q", again.Status)
	}
}

func modelAttempt(uid string, code int32, at time.Time) model.Attempt {
	return model.Attempt{
		UID: uid, URL: "https://example.com/hook", Method: "POST", IPAddress: "93.184.215.14",
		RequestHeader: map[string]string{"X-A": "1"}, HTTPStatus: code, Status: code < 300, DurationMs: 12, CreatedAt: at,
	}
}

// durationIs reports whether s is a Go duration equal to d, whatever its
// spelling ("1m" or "1m0s").
func durationIs(s string, d time.Duration) bool {
	got, err := time.ParseDuration(s)
	return err == nil && got == d
}

// manyHeaders is n distinct valid custom headers.
func manyHeaders(n int) map[string]string {
	out := make(map[string]string, n)
	for i := range n {
		out[fmt.Sprintf("X-H%d", i)] = "v"
	}
	return out
}
