package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// rawOrNull is a stored JSON value for a view: null when unset.
func rawOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// broadcastInput is the body of POST /events/broadcast. Data stays raw, as
// for a single event.
type broadcastInput struct {
	EventType      string            `json:"event_type"`
	Data           json.RawMessage   `json:"data"`
	IdempotencyKey string            `json:"idempotency_key"`
	CustomHeaders  map[string]string `json:"custom_headers"`
}

// fanoutInput is the body of POST /events/fanout: a broadcast's and the
// owner whose applications get it.
type fanoutInput struct {
	OwnerID string `json:"owner_id"`
	broadcastInput
}

// idempotencyKey is the body's key, or else the Idempotency-Key header's.
func idempotencyKey(r *http.Request, body string) (string, error) {
	if body != "" {
		return body, nil
	}
	key := r.Header.Get(headerIdempotencyKey)
	return key, checkText(headerIdempotencyKey+" header", key)
}

func (a *API) broadcastEvent(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[broadcastInput](r)
	key, err := idempotencyKey(r, in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	e, err := a.ingest.BroadcastEvent(ctx, &ingestv1.BroadcastEventRequest{
		GroupId: r.PathValue("group_id"), EventType: in.EventType, Data: []byte(in.Data),
		IdempotencyKey: key, CustomHeaders: in.CustomHeaders,
	})
	if err != nil {
		return nil, err
	}
	return eventOut(e), nil
}

func (a *API) fanoutEvent(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[fanoutInput](r)
	key, err := idempotencyKey(r, in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	e, err := a.ingest.FanoutEvent(ctx, &ingestv1.FanoutEventRequest{
		GroupId: r.PathValue("group_id"), OwnerId: in.OwnerID, EventType: in.EventType, Data: []byte(in.Data),
		IdempotencyKey: key, CustomHeaders: in.CustomHeaders,
	})
	if err != nil {
		return nil, err
	}
	return eventOut(e), nil
}

// precheckInput is the body of an event, a broadcast or a fan-out: app_id
// makes it an event, owner_id a fan-out, neither a broadcast.
type precheckInput struct {
	AppID          string            `json:"app_id"`
	OwnerID        string            `json:"owner_id"`
	EventType      string            `json:"event_type"`
	Data           json.RawMessage   `json:"data"`
	IdempotencyKey string            `json:"idempotency_key"`
	CustomHeaders  map[string]string `json:"custom_headers"`
}

type precheckView struct {
	Endpoints int32 `json:"endpoints"`
}

func (a *API) precheckEvent(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[precheckInput](r)
	req := &ingestv1.PrecheckEventRequest{GroupId: r.PathValue("group_id")}
	switch {
	case in.AppID != "" && in.OwnerID != "":
		return nil, badRequest("app_id and owner_id are exclusive: app_id checks an event, owner_id a fan-out")
	case in.AppID != "":
		req.Kind = &ingestv1.PrecheckEventRequest_Event{Event: &ingestv1.CreateEventRequest{
			AppId: in.AppID, EventType: in.EventType, Data: []byte(in.Data), IdempotencyKey: in.IdempotencyKey, CustomHeaders: in.CustomHeaders,
		}}
	case in.OwnerID != "":
		req.Kind = &ingestv1.PrecheckEventRequest_Fanout{Fanout: &ingestv1.FanoutEventRequest{
			OwnerId: in.OwnerID, EventType: in.EventType, Data: []byte(in.Data), IdempotencyKey: in.IdempotencyKey, CustomHeaders: in.CustomHeaders,
		}}
	default:
		req.Kind = &ingestv1.PrecheckEventRequest_Broadcast{Broadcast: &ingestv1.BroadcastEventRequest{
			EventType: in.EventType, Data: []byte(in.Data), IdempotencyKey: in.IdempotencyKey, CustomHeaders: in.CustomHeaders,
		}}
	}
	res, err := a.ingest.PrecheckEvent(ctx, req)
	if err != nil {
		return nil, err
	}
	return precheckView{Endpoints: res.GetEndpoints()}, nil
}

type filterTestInput struct {
	Filter  json.RawMessage   `json:"filter"`
	Payload json.RawMessage   `json:"payload"`
	Headers map[string]string `json:"headers"`
}

type filterTestView struct {
	Matches bool `json:"matches"`
}

func (a *API) testFilter(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[filterTestInput](r)
	res, err := a.ingest.TestFilter(ctx, &ingestv1.TestFilterRequest{
		GroupId: r.PathValue("group_id"), Filter: in.Filter, Payload: in.Payload, Headers: in.Headers,
	})
	if err != nil {
		return nil, err
	}
	return filterTestView{Matches: res.GetMatches()}, nil
}

// eventTypeInput is the body of POST and PUT .../event-types. Schema and
// example are JSON values kept as sent; null removes them on update.
type eventTypeInput struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Example     json.RawMessage `json:"example"`
	Deprecated  *bool           `json:"deprecated"`
}

type eventTypeView struct {
	UID         string          `json:"uid"`
	GroupID     string          `json:"group_id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Example     json.RawMessage `json:"example"`
	Deprecated  bool            `json:"deprecated"`
	CreatedAt   *string         `json:"created_at"`
	UpdatedAt   *string         `json:"updated_at"`
}

func eventTypeOut(t *ingestv1.EventType) eventTypeView {
	return eventTypeView{
		UID: t.GetUid(), GroupID: t.GetGroupId(), Name: t.GetName(), Description: t.GetDescription(),
		Schema: rawOrNull(t.GetSchema()), Example: rawOrNull(t.GetExample()), Deprecated: t.GetDeprecated(),
		CreatedAt: timeOut(t.GetCreatedAt()), UpdatedAt: timeOut(t.GetUpdatedAt()),
	}
}

func (a *API) createEventType(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[eventTypeInput](r)
	t, err := a.ingest.CreateEventType(ctx, &ingestv1.CreateEventTypeRequest{
		GroupId: r.PathValue("group_id"), Name: deref(in.Name), Description: deref(in.Description),
		Schema: in.Schema, Example: in.Example, Deprecated: deref(in.Deprecated),
	})
	if err != nil {
		return nil, err
	}
	return eventTypeOut(t), nil
}

func (a *API) listEventTypes(ctx context.Context, r *http.Request) (any, error) {
	p, err := pageOnly(r)
	if err != nil {
		return nil, err
	}
	res, err := a.ingest.ListEventTypes(ctx, &ingestv1.ListEventTypesRequest{GroupId: r.PathValue("group_id"), Page: p})
	if err != nil {
		return nil, err
	}
	return page[eventTypeView]{Content: mapSlice(res.GetEventTypes(), eventTypeOut), Pagination: paginationOf(res.GetPage(), p)}, nil
}

func (a *API) getEventType(ctx context.Context, r *http.Request) (any, error) {
	t, err := a.ingest.GetEventType(ctx, &ingestv1.GetEventTypeRequest{GroupId: r.PathValue("group_id"), EventTypeId: r.PathValue("event_type_id")})
	if err != nil {
		return nil, err
	}
	return eventTypeOut(t), nil
}

func (a *API) updateEventType(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[eventTypeInput](r)
	t, err := a.ingest.UpdateEventType(ctx, &ingestv1.UpdateEventTypeRequest{
		GroupId: r.PathValue("group_id"), EventTypeId: r.PathValue("event_type_id"),
		Name: in.Name, Description: in.Description, Schema: in.Schema, Example: in.Example, Deprecated: in.Deprecated,
	})
	if err != nil {
		return nil, err
	}
	return eventTypeOut(t), nil
}

func (a *API) deleteEventType(ctx context.Context, r *http.Request) (any, error) {
	_, err := a.ingest.DeleteEventType(ctx, &ingestv1.DeleteEventTypeRequest{GroupId: r.PathValue("group_id"), EventTypeId: r.PathValue("event_type_id")})
	return nil, err
}
