package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// eventInput is the body of POST /events. Data stays a json.RawMessage so
// the payload's exact bytes (whitespace, escapes, key order) are what ingest
// stores, signs and delivers.
type eventInput struct {
	AppID          string            `json:"app_id"`
	EventType      string            `json:"event_type"`
	Data           json.RawMessage   `json:"data"`
	IdempotencyKey string            `json:"idempotency_key"`
	CustomHeaders  map[string]string `json:"custom_headers"`
}

type eventView struct {
	UID            string            `json:"uid"`
	GroupID        string            `json:"group_id"`
	AppID          string            `json:"app_id"`
	EventType      string            `json:"event_type"`
	IdempotencyKey string            `json:"idempotency_key"`
	CustomHeaders  map[string]string `json:"custom_headers"`
	// Test marks an event sent by the test-event route, to EndpointID only.
	Test       bool    `json:"test,omitempty"`
	EndpointID string  `json:"endpoint_id,omitempty"`
	CreatedAt  *string `json:"created_at"`
	// The producer's W3C trace context as it came (absent when none did).
	TraceParent string `json:"trace_parent,omitempty"`
	TraceState  string `json:"trace_state,omitempty"`
	// data is spliced in raw by appendJSON.
	data []byte
	// matched is shown by Convoy's dialect.
	matched int32
}

// appendJSON encodes the other fields with encoding/json, then adds
// "data" with the payload bytes untouched.
func (v eventView) appendJSON(dst []byte) ([]byte, error) {
	// eventFields has eventView's fields but not its method, so encoding it
	// does not recurse; the unexported data field is skipped.
	type eventFields eventView
	fields, err := appendJSON(nil, eventFields(v))
	if err != nil {
		return dst, err
	}
	dst = append(dst, bytes.TrimSuffix(fields, []byte("}"))...)
	dst = append(dst, `,"data":`...)
	dst = appendRawJSON(dst, v.data)
	return append(dst, '}'), nil
}

func eventOut(e *ingestv1.Event) eventView {
	headers := e.GetCustomHeaders()
	if headers == nil {
		headers = map[string]string{}
	}
	return eventView{
		UID:            e.GetUid(),
		GroupID:        e.GetGroupId(),
		AppID:          e.GetAppId(),
		EventType:      e.GetEventType(),
		IdempotencyKey: e.GetIdempotencyKey(),
		CustomHeaders:  headers,
		Test:           e.GetTest(),
		EndpointID:     e.GetEndpointId(),
		CreatedAt:      timeOut(e.GetCreatedAt()),
		TraceParent:    e.GetTraceParent(),
		TraceState:     e.GetTraceState(),
		data:           e.GetData(),
		matched:        e.GetMatchedEndpoints(),
	}
}

func (a *API) createEvent(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[eventInput](r)
	key := in.IdempotencyKey
	if key == "" {
		key = r.Header.Get(headerIdempotencyKey)
		if err := checkText(headerIdempotencyKey+" header", key); err != nil {
			return nil, err
		}
	}
	e, err := a.ingest.CreateEvent(ctx, &ingestv1.CreateEventRequest{
		GroupId:        r.PathValue("group_id"),
		AppId:          in.AppID,
		EventType:      in.EventType,
		Data:           []byte(in.Data),
		IdempotencyKey: key,
		CustomHeaders:  in.CustomHeaders,
	})
	if err != nil {
		return nil, err
	}
	return eventOut(e), nil
}

func (a *API) listEvents(ctx context.Context, r *http.Request) (any, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	req := &ingestv1.ListEventsRequest{
		GroupId:   r.PathValue("group_id"),
		AppId:     q.single("app_id"),
		EventType: q.single("event_type"),
		StartDate: q.timestamp("start_date"),
		EndDate:   q.timestamp("end_date"),
		Page:      q.page(),

		IdempotencyKey: q.single("idempotency_key"),
	}
	if err := q.err(); err != nil {
		return nil, err
	}
	res, err := a.ingest.ListEvents(ctx, req)
	if err != nil {
		return nil, err
	}
	return page[eventView]{Content: mapSlice(res.GetEvents(), eventOut), Pagination: paginationOf(res.GetPage(), req.GetPage())}, nil
}

func (a *API) getEvent(ctx context.Context, r *http.Request) (any, error) {
	e, err := a.ingest.GetEvent(ctx, &ingestv1.GetEventRequest{GroupId: r.PathValue("group_id"), EventId: r.PathValue("event_id")})
	if err != nil {
		return nil, err
	}
	return eventOut(e), nil
}
