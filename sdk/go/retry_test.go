package convoy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// scripted is a loopback API answering with its statuses in turn (the last
// repeating), recording every request.
type scripted struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

type step struct {
	status     int
	retryAfter string
}

func newScripted(t *testing.T, steps ...step) *scripted {
	s := &scripted{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var b strings.Builder
		buf := make([]byte, 1024)
		for {
			n, err := r.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		st := steps[min(len(s.reqs), len(steps)-1)]
		s.reqs = append(s.reqs, r.Clone(context.Background()))
		s.body = append(s.body, b.String())
		s.mu.Unlock()
		if st.retryAfter != "" {
			w.Header().Set("Retry-After", st.retryAfter)
		}
		w.WriteHeader(st.status)
		if st.status < 300 {
			_, _ = w.Write([]byte(`{"status":true,"message":"Event created","data":{"uid":"ev-1","event_type":"invoice.paid"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":false,"message":"busy: try later"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

// sleeps records the waits instead of sleeping them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func testClient(url string, r Retry) (*Client, *sleeps) {
	c := New(url, "k", WithRetry(r))
	sl := &sleeps{}
	c.sleep = sl.sleep
	return c, sl
}

func event() *EventInput {
	return &EventInput{AppID: "app-1", EventType: "invoice.paid", Data: json.RawMessage(`{"n":1}`)}
}

func TestRetries(t *testing.T) {
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	cases := []struct {
		name     string
		steps    []step
		call     func(c *Client) error
		requests int
		waits    []time.Duration // exact waits; nil checks only the count
		status   int             // the final error's status; 0 for success
	}{
		{"a 503 with Retry-After seconds, then success", []step{{503, "3"}, {201, ""}}, func(c *Client) error {
			_, err := c.CreateEvent(context.Background(), "g", event(), nil)
			return err
		}, 2, []time.Duration{3 * time.Second}, 0},
		{"a 429 with an HTTP date is capped by MaxWait", []step{{429, httpDate}, {201, ""}}, func(c *Client) error {
			_, err := c.CreateEvent(context.Background(), "g", event(), nil)
			return err
		}, 2, []time.Duration{time.Minute}, 0},
		{"a 429 is retried even where a 5xx is not", []step{{429, "1"}, {429, "1"}, {201, ""}}, func(c *Client) error {
			_, err := c.CreateGroup(context.Background(), &GroupInput{Name: Ptr("g")})
			return err
		}, 3, []time.Duration{time.Second, time.Second}, 0},
		{"a 500 on a create without a key is not retried", []step{{500, ""}}, func(c *Client) error {
			_, err := c.CreateGroup(context.Background(), &GroupInput{Name: Ptr("g")})
			return err
		}, 1, []time.Duration{}, 500},
		{"a 502 on a GET is retried with backoff until the attempts run out", []step{{502, ""}}, func(c *Client) error {
			_, err := c.GetGroup(context.Background(), "g")
			return err
		}, 4, nil, 502},
		{"a 400 is not retried", []step{{400, ""}}, func(c *Client) error {
			_, err := c.CreateEvent(context.Background(), "g", event(), nil)
			return err
		}, 1, []time.Duration{}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, tc.steps...)
			c, sl := testClient(srv.URL, Retry{Attempts: 4, Base: 100 * time.Millisecond, MaxWait: time.Minute})
			err := tc.call(c)
			if n := len(srv.requests()); n != tc.requests {
				t.Fatalf("%d requests, want %d", n, tc.requests)
			}
			if tc.waits != nil && !equalDurations(sl.d, tc.waits) {
				t.Fatalf("waited %v, want %v", sl.d, tc.waits)
			}
			if tc.waits == nil && len(sl.d) != tc.requests-1 {
				t.Fatalf("waited %v, want %d waits", sl.d, tc.requests-1)
			}
			var apiErr *Error
			switch {
			case tc.status == 0 && err != nil:
				t.Fatalf("error %v, want success", err)
			case tc.status != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tc.status):
				t.Fatalf("error %v, want a %d", err, tc.status)
			case tc.status != 0 && apiErr.Message != "busy: try later":
				t.Fatalf("error message %q, want the envelope's", apiErr.Message)
			}
		})
	}
}

// Backoff doubles from Base, with jitter in its upper half.
func TestBackoff(t *testing.T) {
	for try := 1; try <= 4; try++ {
		full := 100 * time.Millisecond << (try - 1)
		for range 20 {
			if d := backoff(100*time.Millisecond, try); d < full/2 || d > full {
				t.Fatalf("try %d: waited %v, want within [%v, %v]", try, d, full/2, full)
			}
		}
	}
}

// Every try of an event creation carries the same idempotency key (one is
// generated when the caller gave none) and the same body; a caller's key is
// sent as given.
func TestIdempotencyKeyIsStableAcrossRetries(t *testing.T) {
	srv := newScripted(t, step{503, "0"}, step{500, ""}, step{201, ""})
	c, _ := testClient(srv.URL, Retry{})
	ev, err := c.CreateEvent(context.Background(), "g", event(), nil)
	if err != nil || ev.UID != "ev-1" {
		t.Fatalf("create: %v %v", ev, err)
	}
	reqs := srv.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	key := reqs[0].Header.Get(IdempotencyKeyHeader)
	if !strings.HasPrefix(key, "sdk-") {
		t.Fatalf("generated key %q", key)
	}
	for i, r := range reqs {
		if r.Header.Get(IdempotencyKeyHeader) != key || srv.body[i] != srv.body[0] || r.Header.Get("Authorization") != "Bearer k" {
			t.Fatalf("try %d: key %q body %q, want %q and the first body", i, r.Header.Get(IdempotencyKeyHeader), srv.body[i], key)
		}
	}
	var sent EventInput
	if err := json.Unmarshal([]byte(srv.body[0]), &sent); err != nil || sent.AppID != "app-1" || string(sent.Data) != `{"n":1}` {
		t.Fatalf("body %s", srv.body[0])
	}

	srv2 := newScripted(t, step{201, ""})
	c2, _ := testClient(srv2.URL, Retry{})
	if _, err := c2.CreateEvent(context.Background(), "g", event(), &CreateEventParams{IdempotencyKey: "mine"}); err != nil {
		t.Fatal(err)
	}
	if got := srv2.requests()[0].Header.Get(IdempotencyKeyHeader); got != "mine" {
		t.Fatalf("key %q, want the caller's", got)
	}
	// Two separate creations get two keys.
	if _, err := c.CreateEvent(context.Background(), "g", event(), nil); err != nil {
		t.Fatal(err)
	}
	if again := srv.requests()[3].Header.Get(IdempotencyKeyHeader); again == key {
		t.Fatal("a second creation reused the first one's key")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"12":                            12 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Fri, 02 Jan 2026 03:04:35 GMT": 30 * time.Second,
		"Fri, 02 Jan 2026 03:00:00 GMT": 0, // in the past
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

// A cancelled context stops the retries.
func TestRetryStopsWithContext(t *testing.T) {
	srv := newScripted(t, step{503, "1"})
	c := New(srv.URL, "k", WithRetry(Retry{Attempts: 10}))
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	if _, err := c.GetGroup(ctx, "g"); err == nil {
		t.Fatal("want an error")
	}
	if n := len(srv.requests()); n != 1 {
		t.Fatalf("%d requests after the context ended, want 1", n)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
