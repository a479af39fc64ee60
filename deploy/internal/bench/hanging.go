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

// HangingReceiver is a webhook endpoint that takes its time: it holds every request for a
// fixed hang and then answers 200, as a slow but working receiver would. Release ends every
// hang at once, and later requests are answered at once, so that the dispatcher's requests in
// flight finish and the stack can stop promptly.
//
// A held request costs its connection's goroutine and one timer, so thousands can hang at
// once; the body is discarded while it is read, never kept.
type HangingReceiver struct {
	hang time.Duration

	release     chan struct{}
	releaseOnce sync.Once

	arrived   atomic.Int64 // requests received
	inFlight  atomic.Int64 // requests being held now
	peak      atomic.Int64 // most requests held at once
	hungOut   atomic.Int64 // answered 200 after the whole hang
	released  atomic.Int64 // answered 200 early, because of Release
	abandoned atomic.Int64 // given up by the client before an answer
}

// NewHangingReceiver returns a receiver that holds each request for hang.
func NewHangingReceiver(hang time.Duration) *HangingReceiver {
	return &HangingReceiver{hang: hang, release: make(chan struct{})}
}

// ServeHTTP holds the request for the hang, or until Release or the client gives up, and
// answers 200.
func (h *HangingReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h.arrived.Add(1)
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	_, _ = io.Copy(io.Discard, req.Body)

	timer := time.NewTimer(h.hang)
	defer timer.Stop()
	select {
	case <-timer.C:
		h.hungOut.Add(1)
	case <-h.release:
		h.released.Add(1)
	case <-req.Context().Done():
		h.abandoned.Add(1)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Release ends every hang now and makes later requests answer at once. It may be called
// more than once.
func (h *HangingReceiver) Release() { h.releaseOnce.Do(func() { close(h.release) }) }

// HangingStats are the receiver's counters at one moment.
type HangingStats struct {
	Arrived   int64 `json:"arrived"`
	InFlight  int64 `json:"in_flight"`
	Peak      int64 `json:"peak_in_flight"`
	HungOut   int64 `json:"answered_after_hang"`
	Released  int64 `json:"answered_on_release"`
	Abandoned int64 `json:"abandoned_by_client"`
}

// Stats returns the counters.
func (h *HangingReceiver) Stats() HangingStats {
	return HangingStats{
		Arrived: h.arrived.Load(), InFlight: h.inFlight.Load(), Peak: h.peak.Load(),
		HungOut: h.hungOut.Load(), Released: h.released.Load(), Abandoned: h.abandoned.Load(),
	}
}

// Serve listens on a free loopback port and serves until ctx is done; it releases every
// hang first, so that shutting down does not wait for them. It returns the base URL (paths
// below it all reach the receiver) and a channel closed once the server has stopped.
func (h *HangingReceiver) Serve(ctx context.Context) (string, <-chan struct{}, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	go func() {
		<-ctx.Done()
		h.Release()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return "http://" + ln.Addr().String(), done, nil
}
