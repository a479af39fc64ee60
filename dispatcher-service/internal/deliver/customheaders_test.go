package deliver

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"convoy/dispatcher-service/internal/outbound"
)

// A receiver gets the endpoint's custom headers on every attempt; where the
// event sets the same header the event's value wins, and neither replaces
// ours.
func TestEndpointCustomHeadersReachTheReceiver(t *testing.T) {
	got := make(chan http.Header, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	}))
	t.Cleanup(recv.Close)
	client := outbound.New(outbound.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})

	task, ep, g := fixture()
	ep.URL = recv.URL + "/hook"
	ep.CustomHeaders = map[string]string{"X-Api-Key": "endpoint-key", "x-tenant": "from-endpoint", "X-Region": "eu"}
	a := New(client, "1.0.0").Attempt(t.Context(), task, ep, g).Attempt
	if !a.Status {
		t.Fatalf("attempt %+v", a)
	}
	h := <-got
	for k, want := range map[string]string{
		"X-Api-Key": "endpoint-key", "X-Region": "eu",
		"X-Tenant":             "t1", // the event's
		"X-Convoy-Delivery-Id": "d1",
	} {
		if v := h.Values(k); len(v) != 1 || v[0] != want {
			t.Errorf("receiver got %s = %q, want %q", k, v, want)
		}
	}
	if a.RequestHeader["X-Api-Key"] != "endpoint-key" {
		t.Errorf("recorded request headers %v lack the endpoint's", a.RequestHeader)
	}
}
