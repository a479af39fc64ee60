package plan

import (
	"testing"

	"convoy/core/filter"
	"convoy/core/model"
)

// Reconciliation routes a stored event as ingest did: by type, then by the
// endpoint's filter, so that it never queues a delivery a filter excluded.
func TestRoute(t *testing.T) {
	ev := &model.Event{EventType: "invoice.paid", Data: []byte(`{"amount": 30, "customer": {"tier": "gold"}}`),
		CustomHeaders: map[string]string{"X-Region": "eu"}}
	eps := []model.Endpoint{
		{UID: "all", Events: []string{"*"}},
		{UID: "other-type", Events: []string{"user.*"}},
		{UID: "gold", Events: []string{"invoice.*"}, Filter: `{"body":{"customer.tier":"gold"}}`},
		{UID: "big", Events: []string{"*"}, Filter: `{"body":{"amount":{"$gt":100}}}`},
		{UID: "us", Events: []string{"*"}, Filter: `{"headers":{"X-Region":"us"}}`},
		{UID: "broken", Events: []string{"*"}, Filter: `{"body":{"a":{"$nope":1}}}`},
	}
	compile := func(src string) (*filter.Filter, error) { return filter.Parse([]byte(src)) }
	var got []string
	for _, ep := range Route(ev, eps, compile) {
		got = append(got, ep.UID)
	}
	want := []string{"all", "gold", "broken"} // a filter that no longer compiles delivers
	if len(got) != len(want) {
		t.Fatalf("routed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("routed %v, want %v", got, want)
		}
	}
}
