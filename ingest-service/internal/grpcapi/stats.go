package grpcapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"convoy/core/endpointhealth"
	"convoy/core/endpointstats"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Bounds of the stats window.
const (
	defaultStatsWindow = 24 * time.Hour
	maxStatsWindow     = 7 * 24 * time.Hour
)

// GetEndpointStats answers an endpoint's attempts by outcome and latency
// over a window, in 5-minute buckets, with its health. Counts come from the
// dispatchers' flushes, so the last few seconds may be missing.
func (s *Server) GetEndpointStats(ctx context.Context, req *ingestv1.GetEndpointStatsRequest) (*ingestv1.EndpointStats, error) {
	e, err := s.endpoint(ctx, &req.GroupId, req.AppId, req.EndpointId)
	if err != nil {
		return nil, err
	}
	window, err := parseDuration("window", req.Window, defaultStatsWindow, endpointstats.SlotSize, maxStatsWindow)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint stats", err)
	}

	// The buckets end with the one now is in; the window is rounded up to
	// whole buckets.
	last := time.Now().UTC().Truncate(endpointstats.SlotSize)
	n := int((window + endpointstats.SlotSize - 1) / endpointstats.SlotSize)
	start := last.Add(-time.Duration(n-1) * endpointstats.SlotSize)
	days, err := s.store.EndpointStatsDays(ctx, e.UID, start, last)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint stats", err)
	}
	byDay := map[time.Time]map[int]*endpointstats.Cell{}
	for _, d := range days {
		byDay[d.Day] = d.Slots
	}
	out := &ingestv1.EndpointStats{
		EndpointId: e.UID,
		Window:     window.String(),
		Start:      timestamppb.New(start),
		End:        timestamppb.New(last.Add(endpointstats.SlotSize)),
		Buckets:    make([]*ingestv1.StatsBucket, 0, n),
	}
	var total endpointstats.Cell
	for i := range n {
		at := start.Add(time.Duration(i) * endpointstats.SlotSize)
		c := byDay[endpointstats.Day(at)][endpointstats.Slot(at)]
		if c == nil {
			c = &endpointstats.Cell{}
		}
		total.Merge(c)
		out.Buckets = append(out.Buckets, &ingestv1.StatsBucket{Start: timestamppb.New(at), Figures: figures(c)})
	}
	out.Totals = figures(&total)

	success, failure, err := s.store.EndpointLastOutcomes(ctx, e.UID)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint stats", err)
	}
	out.LastSuccessAt, out.LastFailureAt = tsPtr(success), tsPtr(failure)

	h, err := s.health.get(ctx, e.UID)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint stats", err)
	}
	out.ConsecutiveFailures = h.ConsecutiveFailures
	out.Circuit = circuitPB(h)

	if out.DeliveriesPending, err = s.store.CountPendingDeliveries(ctx, e.UID); err != nil {
		return nil, s.toStatus(ctx, "endpoint stats", err)
	}
	return out, nil
}

func figures(c *endpointstats.Cell) *ingestv1.StatsFigures {
	f := &ingestv1.StatsFigures{Success: c.Success, Failure: c.Failure, Timeout: c.Timeout}
	if p, ok := c.Percentile(0.5); ok {
		f.P50 = &p
	}
	if p, ok := c.Percentile(0.99); ok {
		f.P99 = &p
	}
	return f
}

// healthReader reads the endpoint health bucket, which the dispatchers
// create: until one has, every endpoint is healthy.
type healthReader struct {
	js jetstream.JetStream

	mu sync.Mutex
	kv jetstream.KeyValue
}

func (r *healthReader) get(ctx context.Context, endpointID string) (endpointhealth.State, error) {
	if r == nil {
		return endpointhealth.State{}, nil
	}
	r.mu.Lock()
	kv := r.kv
	r.mu.Unlock()
	if kv == nil {
		var err error
		kv, err = r.js.KeyValue(ctx, endpointhealth.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return endpointhealth.State{}, nil
		}
		if err != nil {
			return endpointhealth.State{}, err
		}
		r.mu.Lock()
		r.kv = kv
		r.mu.Unlock()
	}
	st, _, err := endpointhealth.Get(ctx, kv, endpointID)
	return st, err
}
