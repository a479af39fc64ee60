package grpcapi_test

import (
	"testing"
	"time"

	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// CountDeliveries counts a group's deliveries by status for the list's
// filter, every status present; the filter's statuses do not narrow it, and
// a reversed time range is refused naming the field.
func TestCountDeliveries(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "counts").Uid
	a, b := h.app(t, g, "a").Uid, h.app(t, g, "b").Uid
	h.endpoint(t, g, a)
	h.endpoint(t, g, b)
	evA1, evA2, evB := h.event(t, g, a, "x").Uid, h.event(t, g, a, "x").Uid, h.event(t, g, b, "x").Uid
	dA1 := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: evA1})[0].Uid
	dA2 := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: evA2})[0].Uid
	dB := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: evB})[0].Uid
	h.setStatus(t, model.StatusFailure, dA1, dB)
	h.setStatus(t, model.StatusSuccess, dA2)

	count := func(f *ingestv1.DeliveryFilter) *ingestv1.CountDeliveriesResponse {
		return must(h.api.CountDeliveries(h.admin, &ingestv1.CountDeliveriesRequest{GroupId: g, Filter: f}))(t)
	}
	for _, c := range []struct {
		name            string
		f               *ingestv1.DeliveryFilter
		success, failed int64
	}{
		{"group", nil, 1, 2},
		{"app", &ingestv1.DeliveryFilter{AppId: a}, 1, 1},
		{"event", &ingestv1.DeliveryFilter{EventId: evB}, 0, 1},
		{"status ignored", &ingestv1.DeliveryFilter{Status: []string{model.StatusSuccess}}, 1, 2},
	} {
		res := count(c.f)
		if len(res.Counts) != 6 || res.Counts[model.StatusSuccess] != c.success || res.Counts[model.StatusFailure] != c.failed ||
			res.Counts[model.StatusScheduled] != 0 || res.Total != c.success+c.failed {
			t.Errorf("%s: %v total %d, want Success %d Failure %d of 6 statuses", c.name, res.Counts, res.Total, c.success, c.failed)
		}
	}
	_, err := h.api.CountDeliveries(h.admin, &ingestv1.CountDeliveriesRequest{GroupId: g, Filter: &ingestv1.DeliveryFilter{
		StartDate: timestamppb.New(time.Now()), EndDate: timestamppb.New(time.Now().Add(-time.Hour)),
	}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("reversed range: %v, want InvalidArgument", err)
	}
}
