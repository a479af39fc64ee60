package httpapi

import (
	"context"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// figuresView is attempts by outcome and latency percentiles (ms, null
// without attempts), for one bucket or the whole window.
type figuresView struct {
	Success int64    `json:"success"`
	Failure int64    `json:"failure"`
	Timeout int64    `json:"timeout"`
	P50     *float64 `json:"p50"`
	P99     *float64 `json:"p99"`
}

type bucketView struct {
	Start *string `json:"start"`
	figuresView
}

type circuitView struct {
	State       string  `json:"state"`
	FailureRate float64 `json:"failure_rate"`
	OpenedAt    *string `json:"opened_at"`
}

func circuitValue(c *ingestv1.Circuit) circuitView {
	return circuitView{State: c.GetState(), FailureRate: c.GetFailureRate(), OpenedAt: timeOut(c.GetOpenedAt())}
}

// circuitOut is c's view, or nil (JSON null) when c is unset.
func circuitOut(c *ingestv1.Circuit) *circuitView {
	if c == nil {
		return nil
	}
	v := circuitValue(c)
	return &v
}

type endpointStatsView struct {
	EndpointID          string       `json:"endpoint_id"`
	Window              string       `json:"window"`
	Start               *string      `json:"start"`
	End                 *string      `json:"end"`
	Totals              figuresView  `json:"totals"`
	Buckets             []bucketView `json:"buckets"`
	LastSuccessAt       *string      `json:"last_success_at"`
	LastFailureAt       *string      `json:"last_failure_at"`
	ConsecutiveFailures int64        `json:"consecutive_failures"`
	Circuit             circuitView  `json:"circuit"`
	DeliveriesPending   int64        `json:"deliveries_pending"`
}

func figuresOut(f *ingestv1.StatsFigures) figuresView {
	return figuresView{Success: f.GetSuccess(), Failure: f.GetFailure(), Timeout: f.GetTimeout(), P50: f.P50, P99: f.P99}
}

func (a *API) getEndpointStats(ctx context.Context, r *http.Request) (any, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	req := &ingestv1.GetEndpointStatsRequest{
		GroupId:    r.PathValue("group_id"),
		AppId:      r.PathValue("app_id"),
		EndpointId: r.PathValue("endpoint_id"),
		Window:     q.single("window"),
	}
	if err := q.err(); err != nil {
		return nil, err
	}
	s, err := a.ingest.GetEndpointStats(ctx, req)
	if err != nil {
		return nil, err
	}
	return endpointStatsView{
		EndpointID: s.GetEndpointId(),
		Window:     s.GetWindow(),
		Start:      timeOut(s.GetStart()),
		End:        timeOut(s.GetEnd()),
		Totals:     figuresOut(s.GetTotals()),
		Buckets: mapSlice(s.GetBuckets(), func(b *ingestv1.StatsBucket) bucketView {
			return bucketView{Start: timeOut(b.GetStart()), figuresView: figuresOut(b.GetFigures())}
		}),
		LastSuccessAt:       timeOut(s.GetLastSuccessAt()),
		LastFailureAt:       timeOut(s.GetLastFailureAt()),
		ConsecutiveFailures: s.GetConsecutiveFailures(),
		Circuit:             circuitValue(s.GetCircuit()),
		DeliveriesPending:   s.GetDeliveriesPending(),
	}, nil
}
