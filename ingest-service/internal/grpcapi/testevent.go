package grpcapi

import (
	"context"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// The test event sent when the caller names none.
const (
	testEventType = "convoy.test"
	testEventData = `{"message":"This is a test event from Convoy"}`
)

// SendTestEvent sends an event to one endpoint, whatever it subscribes to
// and whatever its filter: the "does my endpoint work?" button. The event is
// stored marked test, with the durability of any other, and its delivery is
// attempted once and never retried. The group's event-type catalog does not
// apply to it.
func (s *Server) SendTestEvent(ctx context.Context, req *ingestv1.SendTestEventRequest) (*ingestv1.SendTestEventResponse, error) {
	g, err := s.cachedGroup(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	// The group is checked: reading the endpoint need not authenticate the
	// call again (a second check would count it twice against the rate).
	if err := s.inApp(ctx, req.AppId, "endpoint"); err != nil {
		return nil, err
	}
	ep, err := s.store.GetEndpoint(ctx, req.GroupId, req.AppId, req.EndpointId)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	app, err := s.apps.Get(ctx, ep.AppID, func(ctx context.Context) (*model.Application, error) {
		return s.store.GetApplication(ctx, g.UID, ep.AppID)
	})
	if err == nil && app.GroupID != g.UID {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	eventType, data := req.EventType, req.Data
	if eventType == "" {
		eventType = testEventType
	}
	if len(data) == 0 {
		data = []byte(testEventData)
	}
	if err := validateEventFields(eventType, data, "", nil); err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	ev, err := s.buildEvent(ctx, g, app.UID, eventType, data, "", nil)
	if err != nil {
		return nil, err
	}
	ev.Test, ev.EndpointID = true, ep.UID
	one := func(context.Context) (routeSet, error) {
		set := routeSet{eps: []model.Endpoint{*ep}}
		if app.IsDisabled {
			set.disabled = map[string]bool{app.UID: true}
		}
		return set, nil
	}
	out, err := s.accept(ctx, g, ev, one)
	if err != nil {
		return nil, err
	}
	return &ingestv1.SendTestEventResponse{Event: out, DeliveryId: ids.Delivery(ev.UID, ep.UID)}, nil
}
