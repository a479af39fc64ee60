package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

type metaEventView struct {
	UID       string                `json:"uid"`
	GroupID   string                `json:"group_id"`
	EventType string                `json:"event_type"`
	Status    string                `json:"status"`
	Metadata  metaEventMetadataView `json:"metadata"`
	// Attempts are shown on one meta event (oldest first), not in lists.
	Attempts  *[]metaAttemptView `json:"attempts,omitempty"`
	CreatedAt *string            `json:"created_at"`
	UpdatedAt *string            `json:"updated_at"`
}

type metaEventMetadataView struct {
	// Data is the body's "data"; Raw the whole body as sent and signed.
	Data         json.RawMessage `json:"data"`
	Raw          string          `json:"raw"`
	NumTrials    int32           `json:"num_trials"`
	RetryLimit   int32           `json:"retry_limit"`
	NextSendTime *string         `json:"next_send_time"`
}

// metaAttemptView is an attempt as deliveries show it, less delivery_id: the
// outer field outranks the embedded one of the same name and, nil, is left
// out.
type metaAttemptView struct {
	attemptView
	DeliveryID *struct{} `json:"delivery_id,omitempty"`
}

func metaEventOut(m *ingestv1.MetaEvent, withAttempts bool) metaEventView {
	md := m.GetMetadata()
	var body struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal([]byte(md.GetRaw()), &body) != nil || body.Data == nil {
		body.Data = json.RawMessage("null")
	}
	v := metaEventView{
		UID:       m.GetUid(),
		GroupID:   m.GetGroupId(),
		EventType: m.GetEventType(),
		Status:    m.GetStatus(),
		Metadata: metaEventMetadataView{
			Data:         body.Data,
			Raw:          md.GetRaw(),
			NumTrials:    md.GetNumTrials(),
			RetryLimit:   md.GetRetryLimit(),
			NextSendTime: timeOut(md.GetNextSendTime()),
		},
		CreatedAt: timeOut(m.GetCreatedAt()),
		UpdatedAt: timeOut(m.GetUpdatedAt()),
	}
	if withAttempts {
		attempts := mapSlice(m.GetAttempts(), func(a *ingestv1.Attempt) metaAttemptView { return metaAttemptView{attemptView: attemptOut(a)} })
		v.Attempts = &attempts
	}
	return v
}

func (a *API) listMetaEvents(ctx context.Context, r *http.Request) (any, error) {
	p, err := pageOnly(r)
	if err != nil {
		return nil, err
	}
	res, err := a.ingest.ListMetaEvents(ctx, &ingestv1.ListMetaEventsRequest{GroupId: r.PathValue("group_id"), Page: p})
	if err != nil {
		return nil, err
	}
	out := func(m *ingestv1.MetaEvent) metaEventView { return metaEventOut(m, false) }
	return page[metaEventView]{Content: mapSlice(res.GetMetaEvents(), out), Pagination: paginationOf(res.GetPage(), p)}, nil
}

func (a *API) getMetaEvent(ctx context.Context, r *http.Request) (any, error) {
	m, err := a.ingest.GetMetaEvent(ctx, &ingestv1.GetMetaEventRequest{GroupId: r.PathValue("group_id"), MetaEventId: r.PathValue("meta_event_id")})
	if err != nil {
		return nil, err
	}
	return metaEventOut(m, true), nil
}

func (a *API) resendMetaEvent(ctx context.Context, r *http.Request) (any, error) {
	m, err := a.ingest.ResendMetaEvent(ctx, &ingestv1.ResendMetaEventRequest{GroupId: r.PathValue("group_id"), MetaEventId: r.PathValue("meta_event_id")})
	if err != nil {
		return nil, err
	}
	return metaEventOut(m, true), nil
}
