package consume_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/verify"
	"convoy/dispatcher-service/internal/app"
)

// Every outcome of one attempt, end to end through the consumer: the
// receiver's answer, the delivery's next state, the attempt recorded, the
// retry queued and the endpoint's status. One dispatcher serves every
// subtest; each has a group, endpoint and receiver of its own.
func TestAttemptOutcomes(t *testing.T) {
	h := newHarness(t, harnessOptions{})

	t.Run("200 is Success with the attempt recorded", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, simpleSHA256, nil)
		g := h.group(t, nil)
		ep := h.endpoint(t, g, rc.URL+"/hook?x=1", nil)
		d, task := h.send(t, g, ep, 0, func(ev *model.Event) {
			ev.IdempotencyKey = "order-7"
			ev.CustomHeaders = map[string]string{"X-Tenant": "t1", "X-Convoy-Event-ID": "spoofed"}
		})
		got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusSuccess, model.StatusRetry, model.StatusFailure)
		if got.Status != model.StatusSuccess || got.Metadata.NumTrials != 1 || got.Metadata.NextSendTime != nil || got.Description != "" {
			t.Fatalf("delivery %s, trials %d, next %v, description %q; want Success, 1, none, empty",
				got.Status, got.Metadata.NumTrials, got.Metadata.NextSendTime, got.Description)
		}

		reqs := rc.requests()
		if len(reqs) != 1 {
			t.Fatalf("receiver got %d requests, want 1", len(reqs))
		}
		r := reqs[0]
		if r.verified != nil {
			t.Fatalf("receiver could not verify the signature: %v", r.verified)
		}
		if string(r.body) != string(task.Data) {
			t.Fatalf("body %q, want the event's exact bytes %q", r.body, task.Data)
		}
		for k, want := range map[string]string{
			"Content-Type": "application/json", "User-Agent": "Convoy/" + app.Version,
			"X-Convoy-Event-ID": task.EventId, "X-Convoy-Event-Type": "invoice.paid",
			"X-Convoy-Delivery-ID": d.UID, "X-Convoy-Idempotency-Key": "order-7", "X-Tenant": "t1",
		} {
			if v := r.header.Values(k); len(v) != 1 || v[0] != want {
				t.Errorf("request header %s = %q, want %q", k, v, want)
			}
		}

		atts := h.attempts(t, got)
		if len(atts) != 1 {
			t.Fatalf("%d attempts recorded, want 1", len(atts))
		}
		a := atts[0]
		if a.URL != ep.URL || a.Method != http.MethodPost || a.IPAddress != "127.0.0.1" || !a.Status || a.Error != "" ||
			a.HTTPStatus != 200 || a.ResponseData != `{"ok":true}` || a.ResponseTruncated || a.UID == "" || a.CreatedAt.IsZero() {
			t.Fatalf("attempt %+v", a)
		}
		if a.ResponseHeader["X-Receiver"] != "yes" {
			t.Errorf("response headers %v, want X-Receiver", a.ResponseHeader)
		}
		sent := r.header.Get("X-Convoy-Signature")
		if sent == "" || a.RequestHeader["X-Convoy-Signature"] != "[redacted]" {
			t.Errorf("recorded signature %q, want it redacted", a.RequestHeader["X-Convoy-Signature"])
		}
		for k, v := range a.RequestHeader {
			if strings.Contains(v, sent) {
				t.Errorf("recorded header %s carries the signature", k)
			}
		}
		for _, k := range []string{"Convoy-Timestamp", "Content-Type", "User-Agent", "X-Convoy-Event-Id", "X-Convoy-Delivery-Id", "X-Tenant"} {
			if want := r.header.Get(k); a.RequestHeader[k] != want {
				t.Errorf("recorded request header %s = %q, want %q as sent", k, a.RequestHeader[k], want)
			}
		}
	})

	t.Run("signature redacted in every format", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			format, hash, header string
			replay               bool
		}{
			{verify.FormatSimple, "SHA512", "X-Sig", false},
			{verify.FormatAdvanced, "SHA3_256", "X-Convoy-Signature", true},
			{verify.FormatStandardWebhooks, "SHA256", "X-Convoy-Signature", true},
		} {
			t.Run(tc.format, func(t *testing.T) {
				opts := verify.Options{Format: tc.format, Hash: tc.hash, Header: tc.header, ReplayAttacks: tc.replay}
				rc := newReceiver(t, opts, nil)
				g := h.group(t, func(c *model.GroupConfig) {
					c.Signature = model.Signature{Header: tc.header, Hash: tc.hash, Format: tc.format}
					c.ReplayAttacks = tc.replay
				})
				ep := h.endpoint(t, g, rc.URL, nil)
				d, _ := h.send(t, g, ep, 0, nil)
				got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusSuccess, model.StatusRetry, model.StatusFailure)
				if got.Status != model.StatusSuccess {
					t.Fatalf("delivery %s: %s", got.Status, got.Description)
				}
				r := rc.requests()[0]
				if r.verified != nil {
					t.Fatalf("receiver could not verify: %v", r.verified)
				}
				sigHeader := tc.header
				if tc.format == verify.FormatStandardWebhooks {
					sigHeader = "Webhook-Signature"
				}
				sent := r.header.Get(sigHeader)
				a := h.attempts(t, got)[0]
				if sent == "" || a.RequestHeader[http.CanonicalHeaderKey(sigHeader)] != "[redacted]" {
					t.Fatalf("sent %s %q, recorded %q", sigHeader, sent, a.RequestHeader[http.CanonicalHeaderKey(sigHeader)])
				}
				for k, v := range a.RequestHeader {
					if strings.Contains(v, sent) {
						t.Errorf("recorded header %s carries the signature", k)
					}
				}
			})
		}
	})

	t.Run("response body beyond 50 KiB is truncated in the record", func(t *testing.T) {
		t.Parallel()
		big := strings.Repeat("x", 60<<10)
		rc := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, _ *http.Request, _ int, _ <-chan struct{}) {
			_, _ = io.WriteString(w, big)
		})
		g := h.group(t, nil)
		ep := h.endpoint(t, g, rc.URL, nil)
		d, _ := h.send(t, g, ep, 0, nil)
		got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusSuccess, model.StatusRetry, model.StatusFailure)
		a := h.attempts(t, got)[0]
		if got.Status != model.StatusSuccess || len(a.ResponseData) != 50<<10 || !a.ResponseTruncated {
			t.Fatalf("delivery %s, recorded %d response bytes, truncated %v", got.Status, len(a.ResponseData), a.ResponseTruncated)
		}
	})

	t.Run("500 is Retry with the next attempt queued per strategy", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name     string
			strategy model.Strategy
			trials   int32
			delay    time.Duration
		}{
			{"linear", model.Strategy{Type: model.StrategyLinear, Duration: 20, RetryCount: 3}, 0, 20 * time.Second},
			{"exponential second attempt", model.Strategy{Type: model.StrategyExponential, RetryCount: 5}, 1, 30 * time.Second},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rc := newReceiver(t, simpleSHA256, status(500))
				g := h.group(t, func(c *model.GroupConfig) { c.Strategy = tc.strategy })
				ep := h.endpoint(t, g, rc.URL, nil)
				before := time.Now()
				d, task := h.send(t, g, ep, tc.trials, nil)
				got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusRetry, model.StatusSuccess, model.StatusFailure)
				after := time.Now()
				if got.Status != model.StatusRetry || got.Metadata.NumTrials != tc.trials+1 || got.Metadata.NextSendTime == nil {
					t.Fatalf("delivery %s with %d trials, next %v", got.Status, got.Metadata.NumTrials, got.Metadata.NextSendTime)
				}
				next := *got.Metadata.NextSendTime
				if next.Before(before.Add(tc.delay).Add(-time.Millisecond)) || next.After(after.Add(tc.delay)) {
					t.Fatalf("next send time %v, want %v after the attempt (between %v and %v)", next, tc.delay, before, after)
				}
				atts := h.attempts(t, got)
				if len(atts) != 1 || atts[0].Status || atts[0].HTTPStatus != 500 || atts[0].Error == "" || got.Description != atts[0].Error {
					t.Fatalf("attempts %+v, description %q", atts, got.Description)
				}
				rt, msgID := h.retryTask(t, d.UID)
				if rt == nil {
					t.Fatal("no retry queued on CONVOY_RETRY")
				}
				if rt.Task.Attempt != task.Attempt+1 || rt.Task.DeliveryId != d.UID || rt.Task.Generation != task.Generation ||
					string(rt.Task.Data) != string(task.Data) {
					t.Fatalf("retry task %+v", rt.Task)
				}
				if diff := rt.DueAt.AsTime().Sub(next); diff < -time.Millisecond || diff > time.Millisecond {
					t.Fatalf("retry due %v, delivery next send time %v", rt.DueAt.AsTime(), next)
				}
				if msgID != queue.MsgID(rt.Task) {
					t.Fatalf("retry message id %q, want %q", msgID, queue.MsgID(rt.Task))
				}
			})
		}
	})

	t.Run("failed last attempt is Failure and disables the endpoint", func(t *testing.T) {
		t.Parallel()
		for _, disable := range []bool{true, false} {
			rc := newReceiver(t, simpleSHA256, status(500))
			g := h.group(t, func(c *model.GroupConfig) { c.DisableEndpoint = disable })
			ep := h.endpoint(t, g, rc.URL, nil)
			d, _ := h.send(t, g, ep, 2, nil) // attempt 3 of 3
			got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusFailure, model.StatusRetry, model.StatusSuccess)
			if got.Status != model.StatusFailure || got.Metadata.NumTrials != 3 || got.Metadata.NextSendTime != nil {
				t.Fatalf("delivery %s with %d trials, next %v; want Failure with 3 and no next send time",
					got.Status, got.Metadata.NumTrials, got.Metadata.NextSendTime)
			}
			if rt, _ := h.retryTask(t, d.UID); rt != nil {
				t.Fatalf("a retry was queued after the last attempt: %+v", rt.Task)
			}
			want := model.EndpointActive
			if disable {
				want = model.EndpointInactive
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				e, err := h.st.EndpointByID(t.Context(), ep.UID)
				if err != nil {
					t.Fatal(err)
				}
				if e.Status == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("disable_endpoint=%v: endpoint %s, want %s", disable, e.Status, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})

	t.Run("301 is a failed attempt naming the Location, not followed", func(t *testing.T) {
		t.Parallel()
		target := newReceiver(t, simpleSHA256, nil)
		rc := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, r *http.Request, _ int, _ <-chan struct{}) {
			http.Redirect(w, r, target.URL+"/moved", http.StatusMovedPermanently)
		})
		g := h.group(t, nil)
		ep := h.endpoint(t, g, rc.URL, nil)
		d, _ := h.send(t, g, ep, 0, nil)
		got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusRetry, model.StatusSuccess, model.StatusFailure)
		atts := h.attempts(t, got)
		if got.Status != model.StatusRetry || len(atts) != 1 {
			t.Fatalf("delivery %s with %d attempts, want Retry with 1", got.Status, len(atts))
		}
		if a := atts[0]; a.Status || a.HTTPStatus != 301 || !strings.Contains(a.Error, target.URL+"/moved") || a.ResponseHeader["Location"] != target.URL+"/moved" {
			t.Fatalf("attempt %+v, want a failed 301 whose error names the Location", a)
		}
		time.Sleep(200 * time.Millisecond)
		if n := len(target.requests()); n != 0 {
			t.Fatalf("the redirect target got %d requests", n)
		}
	})

	t.Run("slow response beyond http_timeout is a failed attempt", func(t *testing.T) {
		t.Parallel()
		for name, respond := range map[string]func(http.ResponseWriter, *http.Request, int, <-chan struct{}){
			"slow body": func(w http.ResponseWriter, r *http.Request, _ int, released <-chan struct{}) {
				w.WriteHeader(200)
				_, _ = w.Write([]byte(`{"ok":`))
				w.(http.Flusher).Flush()
				hold(r, released, 5*time.Second)
			},
			"slow headers": func(w http.ResponseWriter, r *http.Request, _ int, released <-chan struct{}) {
				hold(r, released, 5*time.Second)
			},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				rc := newReceiver(t, simpleSHA256, respond)
				g := h.group(t, nil)
				ep := h.endpoint(t, g, rc.URL, func(e *model.Endpoint) { e.HTTPTimeout = 300 * time.Millisecond })
				start := time.Now()
				d, _ := h.send(t, g, ep, 0, nil)
				got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusRetry, model.StatusSuccess, model.StatusFailure)
				if time.Since(start) > 3*time.Second {
					t.Fatalf("the attempt took %v with a 300ms timeout", time.Since(start))
				}
				atts := h.attempts(t, got)
				if got.Status != model.StatusRetry || len(atts) != 1 || atts[0].Status || !strings.Contains(atts[0].Error, "timeout") {
					t.Fatalf("delivery %s, attempts %+v; want Retry after a timed-out attempt", got.Status, atts)
				}
			})
		}
	})

	t.Run("reset connection is a failed attempt", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, _ *http.Request, _ int, _ <-chan struct{}) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST instead of FIN
			}
			_ = conn.Close()
		})
		g := h.group(t, nil)
		ep := h.endpoint(t, g, rc.URL, nil)
		d, _ := h.send(t, g, ep, 0, nil)
		got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusRetry, model.StatusSuccess, model.StatusFailure)
		atts := h.attempts(t, got)
		if got.Status != model.StatusRetry || len(atts) != 1 || atts[0].Status || atts[0].HTTPStatus != 0 || atts[0].Error == "" {
			t.Fatalf("delivery %s, attempts %+v; want Retry after a failed attempt with an error", got.Status, atts)
		}
		if atts[0].IPAddress != "127.0.0.1" {
			t.Errorf("attempt IP %q, want the address connected to", atts[0].IPAddress)
		}
	})

	t.Run("inactive endpoint is Discarded without an attempt", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, simpleSHA256, nil)
		g := h.group(t, nil)
		ep := h.endpoint(t, g, rc.URL, func(e *model.Endpoint) { e.Status = model.EndpointInactive })
		d, _ := h.send(t, g, ep, 0, nil)
		got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusDiscarded, model.StatusSuccess, model.StatusRetry, model.StatusFailure)
		if got.Status != model.StatusDiscarded || got.Metadata.NumTrials != 0 || got.Description == "" {
			t.Fatalf("delivery %s with %d trials, description %q", got.Status, got.Metadata.NumTrials, got.Description)
		}
		if atts := h.attempts(t, got); len(atts) != 0 {
			t.Fatalf("%d attempts recorded", len(atts))
		}
		if n := len(rc.requests()); n != 0 {
			t.Fatalf("receiver got %d requests", n)
		}
	})

	t.Run("pending endpoint becomes active on success", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, simpleSHA256, nil)
		g := h.group(t, nil)
		ep := h.endpoint(t, g, rc.URL, func(e *model.Endpoint) { e.Status = model.EndpointPending })
		d, _ := h.send(t, g, ep, 0, nil)
		h.waitStatus(t, d.UID, 10*time.Second, model.StatusSuccess)
		deadline := time.Now().Add(5 * time.Second)
		for {
			e, err := h.st.EndpointByID(t.Context(), ep.UID)
			if err != nil {
				t.Fatal(err)
			}
			if e.Status == model.EndpointActive {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("endpoint %s after a success, want active", e.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("429 with Retry-After sets the next send time", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, _ *http.Request, _ int, _ <-chan struct{}) {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		})
		g := h.group(t, nil) // linear 10 s: Retry-After must win
		ep := h.endpoint(t, g, rc.URL, nil)
		d, _ := h.send(t, g, ep, 0, nil)
		got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusRetry, model.StatusSuccess, model.StatusFailure)
		if got.Status != model.StatusRetry || got.Metadata.NextSendTime == nil {
			t.Fatalf("delivery %s, next %v", got.Status, got.Metadata.NextSendTime)
		}
		at := rc.requests()[0].at
		if delay := got.Metadata.NextSendTime.Sub(at); delay < 2500*time.Millisecond || delay > 3500*time.Millisecond {
			t.Fatalf("next send time %v after the attempt, want about 3s", delay)
		}
	})

	t.Run("rate limit defers without consuming attempts", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, simpleSHA256, nil)
		g := h.group(t, nil)
		ep := h.endpoint(t, g, rc.URL, func(e *model.Endpoint) { e.RateLimit, e.RateLimitDuration = 1, time.Second })
		var ids []string
		for range 3 {
			d, _ := h.send(t, g, ep, 0, nil)
			ids = append(ids, d.UID)
		}
		for _, id := range ids {
			got := h.waitStatus(t, id, 15*time.Second, model.StatusSuccess, model.StatusRetry, model.StatusFailure)
			if got.Status != model.StatusSuccess || got.Metadata.NumTrials != 1 {
				t.Fatalf("delivery %s with %d trials, want Success with 1", got.Status, got.Metadata.NumTrials)
			}
			if n := len(h.attempts(t, got)); n != 1 {
				t.Fatalf("%d attempts recorded, want 1", n)
			}
		}
		reqs := rc.requests()
		if len(reqs) != 3 {
			t.Fatalf("receiver got %d requests, want 3", len(reqs))
		}
		// One send per one-second window: three sends span more than a second.
		if span := reqs[2].at.Sub(reqs[0].at); span < 900*time.Millisecond {
			t.Fatalf("3 sends within %v under a limit of 1 per second", span)
		}
	})
}

// An endpoint stored without rate limit settings (written by an older
// version, or by hand) is delivered under the defaults; it must not crash
// the dispatcher or hold its deliveries back for ever.
func TestEndpointWithoutRateLimitSettings(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	rc := newReceiver(t, simpleSHA256, nil)
	g := h.group(t, nil)
	ep := h.endpoint(t, g, rc.URL, func(e *model.Endpoint) { e.RateLimit, e.RateLimitDuration, e.HTTPTimeout = 0, 0, 0 })
	d, _ := h.send(t, g, ep, 0, nil)
	got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusSuccess, model.StatusRetry, model.StatusFailure)
	if got.Status != model.StatusSuccess || got.Metadata.NumTrials != 1 {
		t.Fatalf("delivery %s with %d trials, want Success with 1", got.Status, got.Metadata.NumTrials)
	}
}
