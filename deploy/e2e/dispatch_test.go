package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"convoy/core/verify"
)

// Two dispatcher processes share one endpoint's limit of 10 per second: 100
// events are paced one per 100 ms, so they take about 9.9 seconds, every
// delivery at its first attempt (a deferral by the limit is not an attempt).
func TestDispatchRateLimitSharedByTwoDispatchers(t *testing.T) {
	s := startStack(t)
	replica := s.startReplica("dispatcher-service", "2")
	recv := newReceiver(t)
	var group, app, endpoint resource
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "limited"}, &group)
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications", map[string]any{"name": "shop"}, &app)
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications/"+app.UID+"/endpoints", map[string]any{
		"url": recv.URL, "events": []string{"*"}, "rate_limit": 10, "rate_limit_duration": "1s",
	}, &endpoint)

	const n = 100
	for i := range n {
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{
			"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]int{"n": i},
		}, nil)
	}
	var ds page[delivery]
	eventually(t, 40*time.Second, "every delivery to be Success", func() bool {
		s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries?per_page=100&status=Success", nil, &ds)
		return len(ds.Content) == n
	})
	for _, d := range ds.Content {
		if d.Metadata.NumTrials != 1 {
			t.Errorf("delivery %s: num_trials %d, want 1 (a rate-limit deferral is not an attempt)", d.UID, d.Metadata.NumTrials)
		}
	}

	reqs := recv.requests()
	if len(reqs) != n {
		t.Fatalf("receiver got %d requests, want %d", len(reqs), n)
	}
	seen := map[string]bool{}
	perSecond := map[int64]int{}
	for _, r := range reqs {
		id := r.header.Get("X-Convoy-Delivery-ID")
		if seen[id] {
			t.Fatalf("delivery %s was sent twice", id)
		}
		seen[id] = true
		// The signed timestamp is taken right after the permit, so it names
		// the limiter's one-second window.
		ts, err := strconv.ParseInt(r.header.Get("Convoy-Timestamp"), 10, 64)
		if err != nil {
			t.Fatalf("Convoy-Timestamp %q", r.header.Get("Convoy-Timestamp"))
		}
		perSecond[ts]++
	}
	span := reqs[n-1].at.Sub(reqs[0].at)
	seconds := slices.Sorted(func(yield func(int64) bool) {
		for s := range perSecond {
			if !yield(s) {
				return
			}
		}
	})
	counts := make([]int, len(seconds))
	for i, sec := range seconds {
		counts[i] = perSecond[sec]
	}
	t.Logf("100 deliveries over %v; per second: %v", span.Round(time.Millisecond), counts)
	for sec, c := range perSecond {
		// One over allows for a permit taken microseconds before a second
		// ends and signed just after it.
		if c > 11 {
			t.Errorf("%d deliveries in second %d, limit 10", c, sec)
		}
	}
	// Paced at one per 100 ms, the first and last of 100 sends are 9.9 s
	// apart (a per-process limit would take about 5 s). The margin below
	// 9.9 s absorbs the delivery latency of the first send.
	if span < 9*time.Second {
		t.Fatalf("100 deliveries in %v under a limit of 10 per second", span)
	}
	if len(perSecond) < 10 {
		t.Fatalf("100 deliveries in %d seconds, want at least 10", len(perSecond))
	}
	a, b := strings.Count(s.logOf("dispatcher-service"), "delivery attempt"), strings.Count(s.logOf(replica), "delivery attempt")
	t.Logf("attempts made: %d by the first dispatcher, %d by the second", a, b)
	if a == 0 || b == 0 {
		t.Fatalf("attempts made: %d and %d; want both dispatchers to share the work", a, b)
	}
}

// An endpoint at a cloud metadata or private address gets a failed attempt
// that says the address was refused; no connection is made.
func TestDispatchRefusesInternalAddresses(t *testing.T) {
	s := startStack(t)
	for _, tc := range []struct{ url, ip, reason string }{
		{"http://169.254.169.254/", "169.254.169.254", "cloud metadata"},
		{"http://10.0.0.1/", "10.0.0.1", "private"},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 60, "retry_count": 3}}, tc.url)
			var ev resource
			s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{
				"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]int{"n": 1},
			}, &ev)
			var ds []delivery
			eventually(t, 20*time.Second, "the refused attempt to be recorded", func() bool {
				ds = deliveriesOf(s, group.UID, ev.UID)
				return len(ds) == 1 && ds[0].Status == "Retry"
			})
			var attempts []struct {
				attempt
				URL        string `json:"url"`
				DurationMs int64  `json:"duration_ms"`
			}
			s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries/"+ds[0].UID+"/deliveryattempts", nil, &attempts)
			if len(attempts) != 1 {
				t.Fatalf("%d attempts, want 1", len(attempts))
			}
			a := attempts[0]
			if a.Status || a.HTTPStatus != 0 || a.IPAddress != "" {
				t.Fatalf("attempt %+v, want a failure without a connection", a)
			}
			if !strings.Contains(a.Error, "refused") || !strings.Contains(a.Error, tc.ip) || !strings.Contains(a.Error, tc.reason) {
				t.Fatalf("attempt error %q, want it to say %s (%s) was refused", a.Error, tc.ip, tc.reason)
			}
			if a.DurationMs > 1000 {
				t.Fatalf("the refusal took %d ms", a.DurationMs)
			}
		})
	}
}

// Each signature format and a range of hashes, configured per group, verify
// at the receiver with the receivers' package, and fail with a wrong secret
// or a wrong hash.
func TestDispatchSignaturesVerifyAtTheReceiver(t *testing.T) {
	s := startStack(t)
	type tc struct {
		name   string
		format string
		hash   string
		header string
		replay bool
	}
	var cases []tc
	for _, h := range []string{"SHA256", "SHA512", "SHA3_256", "MD5"} {
		cases = append(cases,
			tc{"simple replay " + h, "simple", h, "", true},
			tc{"simple no replay " + h, "simple", h, "X-Webhook-Sig", false},
			tc{"advanced " + h, "advanced", h, "X-Convoy-Signature", true},
		)
	}
	cases = append(cases, tc{"standard-webhooks", "standard-webhooks", "SHA256", "", true})

	type sent struct {
		tc
		recv    *receiver
		secret  string
		payload string
	}
	var all []sent
	// Everything is sent first, so the deliveries run side by side.
	for i, c := range cases {
		sig := map[string]any{"hash": c.hash, "format": c.format}
		if c.header != "" {
			sig["header"] = c.header
		}
		recv := newReceiver(t)
		group, app, endpoint := setup(s, map[string]any{"signature": sig, "replay_attacks": c.replay}, recv.URL)
		payload := `{"case": ` + strconv.Itoa(i) + `, "note": "caf\u00e9 ☕",  "spaced" : true}`
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events",
			rawBody(`{"app_id": "`+app.UID+`", "event_type": "invoice.paid", "data": `+payload+`}`), nil)
		all = append(all, sent{tc: c, recv: recv, secret: endpoint.Secret, payload: payload})
	}
	for _, c := range all {
		t.Run(c.name, func(t *testing.T) {
			eventually(t, 20*time.Second, "the delivery", func() bool { return len(c.recv.requests()) > 0 })
			got := c.recv.requests()[0]
			if string(got.body) != c.payload {
				t.Fatalf("body %q, want the bytes sent %q", got.body, c.payload)
			}
			opts := verify.Options{Format: c.format, Hash: c.hash, Header: c.header, ReplayAttacks: c.replay}
			if err := verify.Verify(opts, []string{c.secret}, got.header, got.body); err != nil {
				t.Fatalf("verify: %v (headers %v)", err, got.header)
			}
			if err := verify.Verify(opts, []string{c.secret + "x"}, got.header, got.body); err == nil {
				t.Fatal("verified with a wrong secret")
			}
			switch c.format {
			case "standard-webhooks":
				if !strings.HasPrefix(c.secret, "whsec_") {
					t.Errorf("standard-webhooks secret %q lacks whsec_", c.secret[:min(6, len(c.secret))])
				}
				if got.header.Get("webhook-id") != got.header.Get("X-Convoy-Delivery-ID") || got.header.Get("webhook-id") == "" {
					t.Errorf("webhook-id %q, delivery id %q", got.header.Get("webhook-id"), got.header.Get("X-Convoy-Delivery-ID"))
				}
			default:
				other := opts
				other.Hash = "SHA1"
				if err := verify.Verify(other, []string{c.secret}, got.header, got.body); err == nil {
					t.Fatalf("a %s signature verified as SHA1", c.hash)
				}
				if c.format == "simple" && !c.replay && got.header.Get("Convoy-Timestamp") != "" {
					t.Errorf("Convoy-Timestamp sent with replay_attacks off")
				}
				if c.format == "simple" && c.replay && got.header.Get("Convoy-Timestamp") == "" {
					t.Errorf("no Convoy-Timestamp with replay_attacks on")
				}
			}
		})
	}
}
