package bench

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReceiverRecordsArrivalsAndDuplicates(t *testing.T) {
	r := NewReceiver(newClock())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	post := func(eventID, deliveryID string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(`{"x":1}`))
		if eventID != "" {
			req.Header.Set(headerEventID, eventID)
		}
		req.Header.Set(headerDeliveryID, deliveryID)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct{ ev, dl string }{{"e1", "d1"}, {"e2", "d2"}, {"e1", "d1"}, {"e1", "d1"}} {
		if code := post(c.ev, c.dl); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	if code := post("", "d9"); code != http.StatusBadRequest {
		t.Fatalf("without event id: status %d", code)
	}
	if r.Unique() != 2 || r.Duplicates() != 2 || r.requests.Load() != 5 || r.noID.Load() != 1 {
		t.Fatalf("unique %d, duplicates %d, requests %d, noID %d", r.Unique(), r.Duplicates(), r.requests.Load(), r.noID.Load())
	}
	first, ok := r.Arrival("e1")
	if !ok || first <= 0 {
		t.Fatalf("arrival of e1: %v %v", first, ok)
	}
	got := r.arrivalsOf([]accept{{id: "e1"}, {id: "nope"}, {id: "e2"}})
	if got[0] != first || got[1] != -1 || got[2] <= 0 {
		t.Fatalf("arrivalsOf = %v (first e1 %v)", got, first)
	}

	r.Reset()
	if r.Unique() != 0 || r.Duplicates() != 0 {
		t.Fatal("reset kept state")
	}
	if _, ok := r.Arrival("e1"); ok {
		t.Fatal("reset kept arrivals")
	}
}
