package httpapi

import (
	"context"
	"net/http"
	"slices"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/proto"
)

type deliveryView struct {
	UID         string               `json:"uid"`
	GroupID     string               `json:"group_id"`
	EventID     string               `json:"event_id"`
	AppID       string               `json:"app_id"`
	EndpointID  string               `json:"endpoint_id"`
	EventType   string               `json:"event_type"`
	Status      string               `json:"status"`
	Description string               `json:"description"`
	Metadata    deliveryMetadataView `json:"metadata"`
	CreatedAt   *string              `json:"created_at"`
	UpdatedAt   *string              `json:"updated_at"`
}

type deliveryMetadataView struct {
	NumTrials       int32   `json:"num_trials"`
	RetryLimit      int32   `json:"retry_limit"`
	Strategy        string  `json:"strategy"`
	IntervalSeconds int64   `json:"interval_seconds"`
	NextSendTime    *string `json:"next_send_time"`
}

type attemptView struct {
	UID                string            `json:"uid"`
	DeliveryID         string            `json:"delivery_id"`
	URL                string            `json:"url"`
	Method             string            `json:"method"`
	IPAddress          string            `json:"ip_address"`
	RequestHTTPHeader  map[string]string `json:"request_http_header"`
	ResponseHTTPHeader map[string]string `json:"response_http_header"`
	HTTPStatus         int32             `json:"http_status"`
	ResponseData       string            `json:"response_data"`
	ResponseTruncated  bool              `json:"response_truncated"`
	Error              string            `json:"error"`
	Status             bool              `json:"status"`
	DurationMS         int64             `json:"duration_ms"`
	CreatedAt          *string           `json:"created_at"`
}

type idsInput struct {
	IDs []string `json:"ids"`
}

type batchRetryView struct {
	Retried int32    `json:"retried"`
	IDs     []string `json:"ids"`
}

type forceResendView struct {
	Resent int32    `json:"resent"`
	IDs    []string `json:"ids"`
}

func deliveryOut(d *ingestv1.Delivery) deliveryView {
	m := d.GetMetadata()
	return deliveryView{
		UID:         d.GetUid(),
		GroupID:     d.GetGroupId(),
		EventID:     d.GetEventId(),
		AppID:       d.GetAppId(),
		EndpointID:  d.GetEndpointId(),
		EventType:   d.GetEventType(),
		Status:      d.GetStatus(),
		Description: d.GetDescription(),
		Metadata: deliveryMetadataView{
			NumTrials:       m.GetNumTrials(),
			RetryLimit:      m.GetRetryLimit(),
			Strategy:        m.GetStrategy(),
			IntervalSeconds: m.GetIntervalSeconds(),
			NextSendTime:    timeOut(m.GetNextSendTime()),
		},
		CreatedAt: timeOut(d.GetCreatedAt()),
		UpdatedAt: timeOut(d.GetUpdatedAt()),
	}
}

func attemptOut(at *ingestv1.Attempt) attemptView {
	return attemptView{
		UID:                at.GetUid(),
		DeliveryID:         at.GetDeliveryId(),
		URL:                at.GetUrl(),
		Method:             at.GetMethod(),
		IPAddress:          at.GetIpAddress(),
		RequestHTTPHeader:  nonNil(at.GetRequestHttpHeader()),
		ResponseHTTPHeader: nonNil(at.GetResponseHttpHeader()),
		HTTPStatus:         at.GetHttpStatus(),
		ResponseData:       at.GetResponseData(),
		ResponseTruncated:  at.GetResponseTruncated(),
		Error:              at.GetError(),
		Status:             at.GetStatus(),
		DurationMS:         at.GetDurationMs(),
		CreatedAt:          timeOut(at.GetCreatedAt()),
	}
}

// nonNil makes an absent map render as {} rather than null.
func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (a *API) listDeliveries(ctx context.Context, r *http.Request) (any, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	req := &ingestv1.ListDeliveriesRequest{GroupId: r.PathValue("group_id"), Filter: q.deliveryFilter(), Page: q.page()}
	if err := q.err(); err != nil {
		return nil, err
	}
	res, err := a.ingest.ListDeliveries(ctx, req)
	if err != nil {
		return nil, err
	}
	return page[deliveryView]{Content: mapSlice(res.GetDeliveries(), deliveryOut), Pagination: paginationOf(res.GetPage(), req.GetPage())}, nil
}

func (a *API) getDelivery(ctx context.Context, r *http.Request) (any, error) {
	d, err := a.ingest.GetDelivery(ctx, &ingestv1.GetDeliveryRequest{GroupId: r.PathValue("group_id"), DeliveryId: r.PathValue("delivery_id")})
	if err != nil {
		return nil, err
	}
	return deliveryOut(d), nil
}

// listAttempts answers a plain array, oldest first. The sort is stable and
// guards the documented order whatever order ingest answers in.
func (a *API) listAttempts(ctx context.Context, r *http.Request) (any, error) {
	res, err := a.ingest.ListAttempts(ctx, &ingestv1.ListAttemptsRequest{GroupId: r.PathValue("group_id"), DeliveryId: r.PathValue("delivery_id")})
	if err != nil {
		return nil, err
	}
	attempts := slices.Clone(res.GetAttempts())
	slices.SortStableFunc(attempts, func(x, y *ingestv1.Attempt) int {
		return x.GetCreatedAt().AsTime().Compare(y.GetCreatedAt().AsTime())
	})
	return mapSlice(attempts, attemptOut), nil
}

func (a *API) getAttempt(ctx context.Context, r *http.Request) (any, error) {
	at, err := a.ingest.GetAttempt(ctx, &ingestv1.GetAttemptRequest{
		GroupId: r.PathValue("group_id"), DeliveryId: r.PathValue("delivery_id"), AttemptId: r.PathValue("attempt_id"),
	})
	if err != nil {
		return nil, err
	}
	return attemptOut(at), nil
}

// countBatchRetryDeliveries answers how many deliveries batchretry would
// retry with the same filters.
func (a *API) countBatchRetryDeliveries(ctx context.Context, r *http.Request) (any, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	req := &ingestv1.CountBatchRetryDeliveriesRequest{GroupId: r.PathValue("group_id"), Filter: q.deliveryFilter()}
	if err := q.err(); err != nil {
		return nil, err
	}
	res, err := a.ingest.CountBatchRetryDeliveries(ctx, req)
	if err != nil {
		return nil, err
	}
	return convoyCount{Num: res.GetNum()}, nil
}

// deliveryCounts is the count of the filtered deliveries in each status.
type deliveryCounts struct {
	Counts map[string]int64 `json:"counts"`
	Total  int64            `json:"total"`
}

// countDeliveries counts the deliveries the list's filters select, by
// status.
func (a *API) countDeliveries(ctx context.Context, r *http.Request) (any, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	req := &ingestv1.CountDeliveriesRequest{GroupId: r.PathValue("group_id"), Filter: q.deliveryFilter()}
	if err := q.err(); err != nil {
		return nil, err
	}
	res, err := a.ingest.CountDeliveries(ctx, req)
	if err != nil {
		return nil, err
	}
	counts := res.GetCounts()
	if counts == nil {
		counts = map[string]int64{}
	}
	return deliveryCounts{Counts: counts, Total: res.GetTotal()}, nil
}

func (a *API) resendDelivery(ctx context.Context, r *http.Request) (any, error) {
	d, err := a.ingest.ResendDelivery(ctx, &ingestv1.ResendDeliveryRequest{
		GroupId: r.PathValue("group_id"), DeliveryId: r.PathValue("delivery_id"),
		// Convoy v0.5 re-activated an inactive endpoint on resend; ours
		// refuses and points at re-enabling, which replays what it held.
		ReactivateEndpoint: dialectOf(r) == convoyV05,
	})
	if err != nil {
		return nil, err
	}
	return deliveryOut(d), nil
}

// batchRetryDeliveries retries the ids in the body or, when there are
// none, whatever the list filters in the query select.
func (a *API) batchRetryDeliveries(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[idsInput](r)
	req := &ingestv1.BatchRetryDeliveriesRequest{GroupId: r.PathValue("group_id"), Ids: in.IDs}
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	filter := q.deliveryFilter()
	if err := q.err(); err != nil {
		return nil, err
	}
	if len(in.IDs) == 0 {
		req.Filter = filter
	} else if !proto.Equal(filter, &ingestv1.DeliveryFilter{}) {
		// Either could be meant to narrow the other; guessing would retry
		// what the caller did not ask for.
		return nil, badRequest("give ids or query filters, not both")
	}
	res, err := a.ingest.BatchRetryDeliveries(ctx, req)
	if err != nil {
		return nil, err
	}
	return batchRetryView{Retried: res.GetRetried(), IDs: append([]string{}, res.GetIds()...)}, nil
}

func (a *API) forceResendDeliveries(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[idsInput](r)
	res, err := a.ingest.ForceResendDeliveries(ctx, &ingestv1.ForceResendDeliveriesRequest{GroupId: r.PathValue("group_id"), Ids: in.IDs})
	if err != nil {
		return nil, err
	}
	return forceResendView{Resent: res.GetResent(), IDs: append([]string{}, res.GetIds()...)}, nil
}
