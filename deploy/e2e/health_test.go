package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/verify"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// circuitView is an endpoint's circuit as the API shows it.
type circuitView struct {
	State       string  `json:"state"`
	FailureRate float64 `json:"failure_rate"`
	OpenedAt    *string `json:"opened_at"`
}

type endpointView struct {
	UID     string       `json:"uid"`
	Status  string       `json:"status"`
	Circuit *circuitView `json:"circuit"`
}

type heldDelivery struct {
	UID         string `json:"uid"`
	Status      string `json:"status"`
	Description string `json:"description"`
	Metadata    struct {
		NumTrials int     `json:"num_trials"`
		NextSend  *string `json:"next_send_time"`
	} `json:"metadata"`
}

// metaGroup is a group as created, with what the health tests read back.
type metaGroup struct {
	UID    string `json:"uid"`
	Config struct {
		MetaEvent struct {
			Secret string `json:"secret"`
		} `json:"meta_event"`
		CircuitBreaker struct {
			FailureThreshold int    `json:"failure_threshold"`
			MinRequests      int    `json:"min_requests"`
			Window           string `json:"window"`
			Cooldown         string `json:"cooldown"`
		} `json:"circuit_breaker"`
	} `json:"config"`
}

// metaBody is a meta event as its receiver gets it.
type metaBody struct {
	EventType string          `json:"event_type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt string          `json:"created_at"`
}

// verifiedMeta checks every request recv got against the group's meta
// secret, as a receiver would, and returns the meta events in the order
// they first arrived, each once (a retry carries the same webhook-id).
func verifiedMeta(t *testing.T, recv *receiver, secret string) []metaBody {
	t.Helper()
	opts := verify.Options{Format: verify.FormatStandardWebhooks}
	seen := map[string]bool{}
	var out []metaBody
	for i, r := range recv.requests() {
		if err := verify.Verify(opts, []string{secret}, r.header, r.body); err != nil {
			t.Fatalf("meta request %d does not verify: %v: %s", i, err, r.body)
		}
		id := r.header.Get("webhook-id")
		if seen[id] {
			continue
		}
		seen[id] = true
		var b metaBody
		if err := json.Unmarshal(r.body, &b); err != nil {
			t.Fatalf("meta request %d: %v: %s", i, err, r.body)
		}
		out = append(out, b)
	}
	return out
}

func typesOf(ms []metaBody) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.EventType)
	}
	return out
}

func parseTime(t *testing.T, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatal("time is null")
	}
	at, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		t.Fatalf("parse %q: %v", *s, err)
	}
	return at
}

// Endpoint health through the real binaries, on one stack: the circuit
// breaker's cycle and its interplay with the dead-endpoint rule, the meta
// events the dispatcher sends, and a task that is not a task dead-lettered.
func TestEndpointHealth(t *testing.T) {
	mongoURI, natsURL := embeddedtest.ForTest(t)
	s := startStackOn(t, mongoURI, natsURL)

	sendEvent := func(groupID, appID string, n int) string {
		var ev resource
		s.must(201, "POST", "/api/v1/groups/"+groupID+"/events", map[string]any{
			"app_id": appID, "event_type": "invoice.paid", "data": map[string]int{"n": n},
		}, &ev)
		return ev.UID
	}
	heldOf := func(groupID, eventID string) *heldDelivery {
		var p page[heldDelivery]
		s.must(200, "GET", "/api/v1/groups/"+groupID+"/eventdeliveries?event_id="+eventID, nil, &p)
		if len(p.Content) != 1 {
			return nil
		}
		return &p.Content[0]
	}

	// A receiver fails until the circuit opens, then recovers: no attempt is
	// made while the circuit is open (a delivery sent meanwhile waits with
	// its next_send_time and no trial), one probe after the cooldown closes
	// it, and every delivery ends in Success; the group's operators hear of
	// the opening and the closing.
	t.Run("circuit opens, holds deliveries back, probes and closes", func(t *testing.T) {
		t.Parallel()
		var healthy atomic.Bool
		recv := newScriptedReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
			if healthy.Load() {
				w.WriteHeader(200)
				return
			}
			w.WriteHeader(500)
		})
		metaRecv := newReceiver(t)
		var g metaGroup
		s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "circuit", "config": map[string]any{
			"strategy":         map[string]any{"type": "default", "duration": 1, "retry_count": 5},
			"disable_endpoint": true,
			"signature":        map[string]any{"format": "standard-webhooks"},
			"circuit_breaker":  map[string]any{"failure_threshold": 50, "min_requests": 4, "cooldown": "3s"},
			"meta_event": map[string]any{"is_enabled": true, "url": metaRecv.URL,
				"event_types": []string{"endpoint.circuit_opened", "endpoint.circuit_closed"}},
		}}, &g)
		if cb := g.Config.CircuitBreaker; cb.FailureThreshold != 50 || cb.MinRequests != 4 || cb.Window != "1m" || cb.Cooldown != "3s" {
			t.Fatalf("group circuit_breaker %+v", cb)
		}
		G := "/api/v1/groups/" + g.UID
		var app resource
		var ep endpointView
		s.must(201, "POST", G+"/applications", map[string]any{"name": "shop"}, &app)
		s.must(201, "POST", G+"/applications/"+app.UID+"/endpoints", map[string]any{"url": recv.URL}, &ep)
		if ep.Circuit == nil || ep.Circuit.State != "closed" || ep.Circuit.OpenedAt != nil {
			t.Fatalf("new endpoint's circuit %+v, want closed", ep.Circuit)
		}
		epPath := G + "/applications/" + app.UID + "/endpoints/" + ep.UID

		var events []string
		for i := range 4 {
			events = append(events, sendEvent(g.UID, app.UID, i))
		}
		eventually(t, 20*time.Second, "the circuit to open", func() bool {
			s.must(200, "GET", epPath, nil, &ep)
			return ep.Circuit != nil && ep.Circuit.State == "open"
		})
		openedAt := parseTime(t, ep.Circuit.OpenedAt)
		if ep.Circuit.FailureRate < 0.5 || ep.Circuit.FailureRate > 1 {
			t.Errorf("failure_rate %v, want at least the threshold 0.5", ep.Circuit.FailureRate)
		}
		var listed page[endpointView]
		s.must(200, "GET", G+"/applications/"+app.UID+"/endpoints", nil, &listed)
		if len(listed.Content) != 1 || listed.Content[0].Circuit == nil || listed.Content[0].Circuit.State != "open" {
			t.Errorf("listed endpoint %+v, want its circuit open", listed.Content)
		}

		held := sendEvent(g.UID, app.UID, 4)
		events = append(events, held)
		healthy.Store(true)
		var d *heldDelivery
		eventually(t, 10*time.Second, "the delivery sent while open to wait with a next_send_time", func() bool {
			d = heldOf(g.UID, held)
			return d != nil && d.Metadata.NextSend != nil
		})
		if d.Status != "Scheduled" || d.Metadata.NumTrials != 0 || !strings.Contains(d.Description, "circuit open") {
			t.Fatalf("held delivery %+v, want Scheduled, no trial, the circuit named", d)
		}
		if due := parseTime(t, d.Metadata.NextSend); due.Before(openedAt.Add(2*time.Second)) || due.After(openedAt.Add(4*time.Second)) {
			t.Errorf("next_send_time %s, want the end of the cooldown %s", due, openedAt.Add(3*time.Second))
		}

		eventually(t, 20*time.Second, "the circuit to close", func() bool {
			s.must(200, "GET", epPath, nil, &ep)
			return ep.Circuit != nil && ep.Circuit.State == "closed"
		})
		if ep.Circuit.OpenedAt != nil || ep.Status != "active" {
			t.Errorf("closed endpoint %+v circuit %+v", ep, ep.Circuit)
		}
		for _, ev := range events {
			eventually(t, 20*time.Second, "every delivery to succeed", func() bool {
				d := heldOf(g.UID, ev)
				return d != nil && d.Status == "Success"
			})
		}
		if d := heldOf(g.UID, held); d.Metadata.NumTrials != 1 {
			t.Errorf("the held delivery took %d trials, want 1: waiting costs none", d.Metadata.NumTrials)
		}
		// Nothing reached the receiver during the cooldown; the first request
		// after it is the probe. (An attempt in flight when the circuit opened
		// may land just after opened_at.)
		var probe time.Time
		for _, at := range recv.times() {
			if at.After(openedAt.Add(500*time.Millisecond)) && at.Before(openedAt.Add(3*time.Second)) {
				t.Errorf("a request reached the receiver %s after the circuit opened, within the cooldown", at.Sub(openedAt))
			}
			if probe.IsZero() && !at.Before(openedAt.Add(3*time.Second)) {
				probe = at
			}
		}
		if probe.IsZero() {
			t.Fatal("no request after the cooldown")
		}

		var metas []metaBody
		eventually(t, 20*time.Second, "the opened and closed meta events", func() bool {
			metas = verifiedMeta(t, metaRecv, g.Config.MetaEvent.Secret)
			return len(metas) >= 2
		})
		if got := typesOf(metas); !slices.Equal(got, []string{"endpoint.circuit_opened", "endpoint.circuit_closed"}) {
			t.Fatalf("meta events %v, want the circuit opening then its closing", got)
		}
		for _, m := range metas {
			var data struct {
				UID         string  `json:"uid"`
				FailureRate float64 `json:"failure_rate"`
				OpenedAt    *string `json:"opened_at"`
			}
			if err := json.Unmarshal(m.Data, &data); err != nil {
				t.Fatal(err)
			}
			if data.UID != ep.UID || data.FailureRate < 0.5 || !parseTime(t, data.OpenedAt).Equal(openedAt) {
				t.Errorf("%s data %s, want the endpoint, the rate and opened_at %s", m.EventType, m.Data, openedAt)
			}
		}
	})

	// The circuit holds attempts back but still counts the ones it lets
	// through: a delivery whose probe fails spends its last attempt, and the
	// dead-endpoint rule disables the endpoint.
	t.Run("dead endpoint disabled while the circuit is open", func(t *testing.T) {
		t.Parallel()
		recv := failingReceiver(t)
		group, app, ep := setup(s, map[string]any{
			"strategy":         map[string]any{"type": "default", "duration": 1, "retry_count": 2},
			"disable_endpoint": true,
			"circuit_breaker":  map[string]any{"failure_threshold": 50, "min_requests": 4, "cooldown": "3s"},
		}, recv.URL)
		epPath := "/api/v1/groups/" + group.UID + "/applications/" + app.UID + "/endpoints/" + ep.UID
		var events []string
		for i := range 4 {
			events = append(events, sendEvent(group.UID, app.UID, i))
		}
		var view endpointView
		eventually(t, 20*time.Second, "the circuit to open", func() bool {
			s.must(200, "GET", epPath, nil, &view)
			return view.Circuit != nil && view.Circuit.State == "open"
		})
		eventually(t, 30*time.Second, "the endpoint to be disabled", func() bool {
			s.must(200, "GET", epPath, nil, &view)
			return view.Status == "inactive"
		})
		failed := 0
		for _, ev := range events {
			if d := heldOf(group.UID, ev); d != nil && d.Status == "Failure" {
				failed++
				if d.Metadata.NumTrials != 2 {
					t.Errorf("failed delivery %+v, want both attempts spent", d)
				}
			}
		}
		if failed == 0 {
			t.Fatal("the endpoint was disabled but no delivery exhausted its attempts")
		}
		if view.Circuit == nil || view.Circuit.State == "closed" {
			t.Errorf("circuit %+v after failed probes, want it not closed", view.Circuit)
		}
	})

	// A delivery that exhausts its attempts makes the dispatcher send
	// eventdelivery.failing after each failed attempt from the third on,
	// endpoint.failure_alert at 50, 70 and 90 % of the disabling run,
	// eventdelivery.failed and endpoint.disabled, each signed with the
	// group's meta secret. A meta event that itself fails three times is
	// retried and triggers no meta event of its own.
	t.Run("meta events from the dispatcher", func(t *testing.T) {
		t.Parallel()
		recv := failingReceiver(t)
		var thirdFailingTries atomic.Int32
		metaRecv := newScriptedReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var b struct {
				EventType string `json:"event_type"`
				Data      struct {
					Metadata struct {
						NumTrials int `json:"num_trials"`
					} `json:"metadata"`
				} `json:"data"`
			}
			_ = json.Unmarshal(body, &b)
			if b.EventType == "eventdelivery.failing" && b.Data.Metadata.NumTrials == 3 && thirdFailingTries.Add(1) <= 3 {
				w.WriteHeader(500)
				return
			}
			w.WriteHeader(200)
		})
		var g metaGroup
		const retries = 10
		s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "meta", "config": map[string]any{
			"strategy":         map[string]any{"type": "default", "duration": 1, "retry_count": retries},
			"disable_endpoint": true,
			"signature":        map[string]any{"format": "standard-webhooks"},
			// The circuit stays out of the way: this is about the failure run.
			"circuit_breaker": map[string]any{"min_requests": 1000},
			"meta_event":      map[string]any{"is_enabled": true, "url": metaRecv.URL},
		}}, &g)
		G := "/api/v1/groups/" + g.UID
		var app, ep resource
		s.must(201, "POST", G+"/applications", map[string]any{"name": "shop"}, &app)
		s.must(201, "POST", G+"/applications/"+app.UID+"/endpoints", map[string]any{"url": recv.URL}, &ep)
		sendEvent(g.UID, app.UID, 1)

		// 7 failing (attempts 3 to 9), 3 alerts, failed, disabled.
		const want = 12
		var listed []metaEvent
		eventually(t, 60*time.Second, "every meta event delivered", func() bool {
			listed = metaEventsOf(s, g.UID)
			if len(listed) < want {
				return false
			}
			for _, m := range listed {
				if m.Status != "Success" {
					return false
				}
			}
			return true
		})
		metas := verifiedMeta(t, metaRecv, g.Config.MetaEvent.Secret)
		count := map[string]int{}
		var failing []int
		var alerts []int
		for _, m := range metas {
			count[m.EventType]++
			var data struct {
				UID      string `json:"uid"`
				Status   string `json:"status"`
				Metadata struct {
					NumTrials  int `json:"num_trials"`
					RetryLimit int `json:"retry_limit"`
				} `json:"metadata"`
				LastAttempt *struct {
					HTTPStatus int `json:"http_status"`
				} `json:"last_attempt"`
				ConsecutiveFailures int `json:"consecutive_failures"`
				Threshold           int `json:"threshold"`
				Percent             int `json:"percent"`
			}
			if err := json.Unmarshal(m.Data, &data); err != nil {
				t.Fatal(err)
			}
			switch m.EventType {
			case "eventdelivery.failing":
				failing = append(failing, data.Metadata.NumTrials)
				if data.Status != "Retry" || data.Metadata.RetryLimit != retries || data.LastAttempt == nil || data.LastAttempt.HTTPStatus != 500 {
					t.Errorf("failing data %s", m.Data)
				}
			case "eventdelivery.failed":
				if data.Status != "Failure" || data.Metadata.NumTrials != retries {
					t.Errorf("failed data %s", m.Data)
				}
			case "endpoint.failure_alert":
				alerts = append(alerts, data.Percent)
				if data.UID != ep.UID || data.Threshold != retries || data.ConsecutiveFailures*100 < data.Percent*retries {
					t.Errorf("failure_alert data %s", m.Data)
				}
			case "endpoint.disabled":
				if data.UID != ep.UID || data.Status != "inactive" {
					t.Errorf("disabled data %s", m.Data)
				}
			default:
				t.Errorf("unexpected meta event %s: %s", m.EventType, m.Data)
			}
		}
		slices.Sort(failing)
		slices.Sort(alerts)
		if !slices.Equal(failing, []int{3, 4, 5, 6, 7, 8, 9}) || !slices.Equal(alerts, []int{50, 70, 90}) ||
			count["eventdelivery.failed"] != 1 || count["endpoint.disabled"] != 1 || len(metas) != want || len(listed) != want {
			t.Fatalf("meta events: failing after trials %v, alerts %v, counts %v (%d received, %d listed), want %d",
				failing, alerts, count, len(metas), len(listed), want)
		}
		if n := thirdFailingTries.Load(); n < 4 {
			t.Fatalf("the meta event made to fail was tried %d times, want 3 failures and a success", n)
		}
	})

	// Bytes on the dispatch stream that are not a task are dead-lettered as
	// undecodable (not retried for ever), counted by the dispatcher's gauge,
	// and leave the list when redriven.
	t.Run("undecodable task dead-lettered and redriven", func(t *testing.T) {
		t.Parallel()
		nc, err := nats.Connect(natsURL)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		subject := "convoy.dispatch.e2e-" + ids.New()
		if _, err := js.Publish(t.Context(), subject, []byte("\xffnot a delivery task")); err != nil {
			t.Fatal(err)
		}
		entriesOn := func() []deadLetterEntry {
			var p page[deadLetterEntry]
			s.must(200, "GET", "/api/v1/admin/deadletters?per_page=100", nil, &p)
			var out []deadLetterEntry
			for _, d := range p.Content {
				if d.Subject == subject {
					out = append(out, d)
				}
			}
			return out
		}
		var found []deadLetterEntry
		eventually(t, 20*time.Second, "the undecodable task in the admin list", func() bool {
			found = entriesOn()
			return len(found) > 0
		})
		if len(found) != 1 || found[0].Reason != "undecodable" || found[0].Error == "" || found[0].DeliveryID != "" || found[0].HasOutcome {
			t.Fatalf("entries %+v, want one undecodable entry", found)
		}
		eventually(t, 20*time.Second, "the dispatcher's gauge to count it", func() bool {
			return scrape(t, s.opsURL("dispatcher-service"))["convoy_dispatch_dead_letters"] == 1
		})
		var res struct {
			Redriven int `json:"redriven"`
			Failed   int `json:"failed"`
		}
		s.must(200, "POST", "/api/v1/admin/deadletters/redrive", map[string]any{"ids": []uint64{found[0].ID}}, &res)
		if res.Redriven != 1 || res.Failed != 0 {
			t.Fatalf("redrive = %+v", res)
		}
		// The republished bytes are still not a task: the dispatcher takes
		// them once more and they land back as a new entry, never in a loop.
		var again []deadLetterEntry
		eventually(t, 20*time.Second, "the redriven bytes back as a new entry", func() bool {
			again = entriesOn()
			return len(again) > 0 && again[0].ID != found[0].ID
		})
		for _, d := range again {
			if d.ID == found[0].ID {
				t.Errorf("redriven entry %d still listed", d.ID)
			}
		}
		if len(again) != 1 || again[0].Reason != "undecodable" {
			t.Errorf("entries after the redrive %+v, want one new undecodable entry", again)
		}
	})
}

// deadLetterEntry is a dead letter as the admin API lists it.
type deadLetterEntry struct {
	ID         uint64 `json:"id"`
	Reason     string `json:"reason"`
	Error      string `json:"error"`
	Subject    string `json:"subject"`
	DeliveryID string `json:"delivery_id"`
	HasOutcome bool   `json:"has_outcome"`
}
