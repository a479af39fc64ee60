package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Headers every Convoy delivery carries.
const (
	headerEventID    = "X-Convoy-Event-ID"
	headerDeliveryID = "X-Convoy-Delivery-ID"
)

// clock is the bench's one time base: the generator's acceptance times and the receiver's
// arrival times are monotonic offsets from the same instant, so they subtract exactly.
type clock struct{ base time.Time }

func newClock() clock { return clock{base: time.Now()} }

func (c clock) now() time.Duration { return time.Since(c.base) }

// Receiver is the webhook endpoint under test: it records when each event first arrived and
// counts deliveries that arrive more than once.
type Receiver struct {
	clk clock

	mu         sync.Mutex
	arrivals   map[string]time.Duration // event id → first arrival
	deliveries map[string]struct{}      // delivery ids seen
	duplicates int                      // deliveries seen again

	unique   atomic.Int64 // distinct event ids
	requests atomic.Int64
	noID     atomic.Int64 // requests without an event id header
}

// NewReceiver returns an empty receiver on clk.
func NewReceiver(clk clock) *Receiver {
	return &Receiver{clk: clk, arrivals: map[string]time.Duration{}, deliveries: map[string]struct{}{}}
}

// ServeHTTP records the arrival and answers 200.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := r.clk.now()
	r.requests.Add(1)
	ev, dl := req.Header.Get(headerEventID), req.Header.Get(headerDeliveryID)
	_, _ = io.Copy(io.Discard, req.Body)
	if ev == "" {
		r.noID.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if _, ok := r.arrivals[ev]; !ok {
		r.arrivals[ev] = at
		r.unique.Add(1)
	}
	if dl != "" {
		if _, ok := r.deliveries[dl]; ok {
			r.duplicates++
		} else {
			r.deliveries[dl] = struct{}{}
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// Unique is the number of distinct events that arrived.
func (r *Receiver) Unique() int64 { return r.unique.Load() }

// Duplicates is the number of deliveries that arrived again after their first arrival.
func (r *Receiver) Duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.duplicates
}

// Arrival returns when the event first arrived.
func (r *Receiver) Arrival(eventID string) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.arrivals[eventID]
	return at, ok
}

// arrivalsOf looks up many events under one lock.
func (r *Receiver) arrivalsOf(accepts []accept) []time.Duration {
	out := make([]time.Duration, len(accepts))
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, a := range accepts {
		at, ok := r.arrivals[a.id]
		if !ok {
			at = -1
		}
		out[i] = at
	}
	return out
}

// Reset forgets everything, after the raw-ceiling phase.
func (r *Receiver) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrivals = map[string]time.Duration{}
	r.deliveries = map[string]struct{}{}
	r.duplicates = 0
	r.unique.Store(0)
	r.requests.Store(0)
	r.noID.Store(0)
}

// Serve listens on a free loopback port and serves until ctx is done. It returns the URL to
// post to and a channel closed once the server has stopped.
func (r *Receiver) Serve(ctx context.Context) (string, <-chan struct{}, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve fails only if the listener breaks; the bench then sees no arrivals and says so.
		_ = srv.Serve(ln)
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return "http://" + ln.Addr().String() + "/webhook", done, nil
}
