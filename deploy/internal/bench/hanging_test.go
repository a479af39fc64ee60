package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// post sends one delivery-like request and returns the status (0 on a transport error).
func post(ctx context.Context, client *http.Client, url string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"kind":"bench"}`))
	if err != nil {
		return 0
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHangingReceiverAnswersAfterTheHang(t *testing.T) {
	const hang = 80 * time.Millisecond
	h := NewHangingReceiver(hang)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	start := time.Now()
	if code := post(t.Context(), srv.Client(), srv.URL+"/slow/1"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if took := time.Since(start); took < hang {
		t.Fatalf("answered after %s, before the %s hang", took, hang)
	}
	waitUntil(t, 5*time.Second, "request no longer in flight", func() bool { return h.Stats().InFlight == 0 })
	want := HangingStats{Arrived: 1, Peak: 1, HungOut: 1}
	if got := h.Stats(); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// Thousands of requests hang at once, and Release answers all of them promptly, as the
// isolation phase needs at its end for the stack to stop fast.
func TestHangingReceiverHoldsThousandsAndReleasesThemAtOnce(t *testing.T) {
	const n = 2000
	h := NewHangingReceiver(time.Hour)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Release) // lets srv.Close finish if the test fails before Release
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	t.Cleanup(client.CloseIdleConnections)

	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { codes <- post(t.Context(), client, srv.URL+"/slow/1") })
	}
	waitUntil(t, 60*time.Second, "every request held", func() bool { return h.Stats().InFlight == n })
	if st := h.Stats(); st.Arrived != n || st.Peak != n || st.HungOut != 0 || st.Released != 0 {
		t.Fatalf("stats while hanging %+v", st)
	}

	released := time.Now()
	h.Release()
	h.Release() // twice is harmless
	wg.Wait()
	if took := time.Since(released); took > 10*time.Second {
		t.Fatalf("%d held requests took %s to answer after Release", n, took)
	}
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Fatalf("a released request got status %d", code)
		}
	}
	waitUntil(t, 5*time.Second, "nothing in flight", func() bool { return h.Stats().InFlight == 0 })
	if st := h.Stats(); st.Released != n || st.HungOut != 0 || st.Abandoned != 0 {
		t.Fatalf("stats after release %+v", st)
	}

	// After Release a request is answered at once, not after the hour.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if code := post(ctx, client, srv.URL+"/slow/2"); code != http.StatusOK {
		t.Fatalf("after release: status %d", code)
	}
}

func TestHangingReceiverCountsClientsThatGiveUp(t *testing.T) {
	h := NewHangingReceiver(time.Hour)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(h.Release)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- post(ctx, srv.Client(), srv.URL) }()
	waitUntil(t, 10*time.Second, "request held", func() bool { return h.Stats().InFlight == 1 })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("a cancelled request got status %d", code)
	}
	waitUntil(t, 10*time.Second, "abandoned request counted", func() bool {
		st := h.Stats()
		return st.Abandoned == 1 && st.InFlight == 0
	})
}

// Serve's shutdown releases the hangs instead of waiting up to the hang for them.
func TestHangingReceiverServeStopsPromptly(t *testing.T) {
	h := NewHangingReceiver(time.Hour)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	url, done, err := h.Serve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codes := make(chan int, 3)
	for range 3 {
		go func() { codes <- post(t.Context(), http.DefaultClient, url+"/slow/1") }()
	}
	if st := waitHanging(t.Context(), h, 10*time.Second, 50*time.Millisecond); st.InFlight != 3 {
		t.Fatalf("waitHanging returned %+v, want 3 in flight", st)
	}
	stopped := time.Now()
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10 s after its context ended")
	}
	if took := time.Since(stopped); took > 5*time.Second {
		t.Fatalf("stopping took %s", took)
	}
	for range 3 {
		if code := <-codes; code != http.StatusOK {
			t.Fatalf("a request held at shutdown got status %d", code)
		}
	}
}

func TestWaitHangingGivesUpWhenNothingArrives(t *testing.T) {
	h := NewHangingReceiver(time.Hour)
	start := time.Now()
	st := waitHanging(t.Context(), h, 100*time.Millisecond, 10*time.Millisecond)
	if st.InFlight != 0 || st.Arrived != 0 {
		t.Fatalf("stats %+v", st)
	}
	if took := time.Since(start); took < 100*time.Millisecond || took > 5*time.Second {
		t.Fatalf("returned after %s, want after the 100ms timeout", took)
	}
}
