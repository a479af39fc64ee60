package httpapi

import (
	"context"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

type deadLetterView struct {
	ID         uint64  `json:"id"`
	Reason     string  `json:"reason"`
	Error      string  `json:"error"`
	Subject    string  `json:"subject"`
	DeliveryID string  `json:"delivery_id"`
	EventID    string  `json:"event_id"`
	EndpointID string  `json:"endpoint_id"`
	GroupID    string  `json:"group_id"`
	DeadAt     *string `json:"dead_at"`
	HasOutcome bool    `json:"has_outcome"`
}

type redriveInput struct {
	IDs []uint64 `json:"ids"`
}

type redriveView struct {
	Redriven int32 `json:"redriven"`
	Failed   int32 `json:"failed"`
}

func deadLetterOut(d *ingestv1.DeadLetter) deadLetterView {
	return deadLetterView{
		ID: d.GetId(), Reason: d.GetReason(), Error: d.GetError(), Subject: d.GetSubject(),
		DeliveryID: d.GetDeliveryId(), EventID: d.GetEventId(), EndpointID: d.GetEndpointId(), GroupID: d.GetGroupId(),
		DeadAt: timeOut(d.GetDeadAt()), HasOutcome: d.GetHasOutcome(),
	}
}

func (a *API) listDeadLetters(ctx context.Context, r *http.Request) (any, error) {
	p, err := pageOnly(r)
	if err != nil {
		return nil, err
	}
	res, err := a.ingest.ListDeadLetters(ctx, &ingestv1.ListDeadLettersRequest{Page: p})
	if err != nil {
		return nil, err
	}
	return page[deadLetterView]{Content: mapSlice(res.GetDeadLetters(), deadLetterOut), Pagination: paginationOf(res.GetPage(), p)}, nil
}

// redriveDeadLetters redrives the ids in the body, or every entry when the
// body names none.
func (a *API) redriveDeadLetters(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[redriveInput](r)
	res, err := a.ingest.RedriveDeadLetters(ctx, &ingestv1.RedriveDeadLettersRequest{Ids: in.IDs})
	if err != nil {
		return nil, err
	}
	return redriveView{Redriven: res.GetRedriven(), Failed: res.GetFailed()}, nil
}
