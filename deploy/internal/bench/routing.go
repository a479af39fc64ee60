package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

// The routing phase's shape.
const (
	routingFilterDuration = 20 * time.Second
	// routingBroadcasts broadcasts go to routingBroadcastApps × routingEndpointsPerApp
	// endpoints; the large one to routingLargeEndpoints.
	routingBroadcasts      = 10
	routingBroadcastApps   = 100
	routingEndpointsPerApp = 10
	routingLargeEndpoints  = 10_000
	routingSetupWorkers    = 8
	routingDrain           = 60 * time.Second
)

// Routing is the routing phase: events to endpoints that all have a filter, broadcasts to
// 1,000 endpoints, and the answer time of a broadcast to 10,000.
type Routing struct {
	// Filtered: one application whose two endpoints both have a filter, one matching every
	// event and one none; events over gRPC at saturation.
	FilteredAccept          Rate    `json:"filtered_accept"`
	FilteredDeliveredPerSec float64 `json:"filtered_delivered_per_s"`
	FilteredUndelivered     int     `json:"filtered_undelivered"`

	// Broadcasts of routingBroadcasts events, one after the other, to BroadcastEndpoints.
	BroadcastEndpoints      int     `json:"broadcast_endpoints"`
	Broadcasts              int     `json:"broadcasts"`
	BroadcastAnswerP50Ms    float64 `json:"broadcast_answer_p50_ms"`
	BroadcastAnswerMaxMs    float64 `json:"broadcast_answer_max_ms"`
	BroadcastQueuedPerSec   float64 `json:"broadcast_deliveries_queued_per_s"`
	BroadcastDeliveredPerS  float64 `json:"broadcast_deliveries_per_s"`
	BroadcastUndelivered    int     `json:"broadcast_undelivered"`
	LargeEndpoints          int     `json:"large_broadcast_endpoints"`
	LargeAnswerColdMs       float64 `json:"large_broadcast_answer_cold_ms"`
	LargeAnswerWarmMs       float64 `json:"large_broadcast_answer_warm_ms"`
	LargeDeliveredPerSec    float64 `json:"large_broadcast_deliveries_per_s"`
	LargeUndelivered        int     `json:"large_broadcast_undelivered"`
	EndpointSetupPerSec     float64 `json:"endpoint_setup_per_s"`
	DuplicateDeliveries     int     `json:"duplicate_deliveries"`
	RequestsAtReceiverTotal int64   `json:"requests_at_receiver"`
}

// routing runs the routing phase on receivers of its own.
func (r *runner) routing(ctx context.Context) (*Routing, error) {
	out := &Routing{}
	recv := NewReceiver(r.clk)
	url, _, err := recv.Serve(r.serveCtx)
	if err != nil {
		return nil, fmt.Errorf("routing receiver: %w", err)
	}
	a := api{base: r.st.gateway, key: r.st.adminKey, client: r.client}
	r.log.Info("phase: routing")

	// a. Every endpoint filtered.
	g, err := a.create(ctx, "/api/v1/groups", benchGroup("bench-routing-filters"))
	if err != nil {
		return nil, err
	}
	app, err := a.create(ctx, "/api/v1/groups/"+g+"/applications", map[string]any{"name": "filtered"})
	if err != nil {
		return nil, err
	}
	for _, f := range []map[string]any{
		{"body": map[string]any{"kind": "bench", "pad": map[string]any{"$exist": true}}},
		{"body": map[string]any{"kind": map[string]any{"$neq": "bench"}}},
	} {
		if _, err := a.create(ctx, "/api/v1/groups/"+g+"/applications/"+app+"/endpoints", map[string]any{
			"url": url, "filter": f, "rate_limit": 1_000_000, "rate_limit_duration": "1s",
		}); err != nil {
			return nil, err
		}
	}
	_, data := eventBody(app, r.cfg.PayloadBytes)
	t := closedLoop(ctx, r.clk, loopOptions{workers: r.cfg.Producers, duration: routingFilterDuration, limit: limitFor(routingFilterDuration)},
		grpcEventSender(r.conn, r.st.adminKey, g, app, data))
	out.FilteredAccept = rateOf(t)
	start := t.start
	last := r.waitRequests(ctx, recv, int64(len(t.accepts)), routingDrain)
	out.FilteredUndelivered = len(t.accepts) - int(recv.requests.Load())
	out.FilteredDeliveredPerSec = perSec(int(recv.requests.Load()), last-start)
	r.log.Info("routing: filtered", zap.Float64("accepted_per_s", out.FilteredAccept.PerSec), zap.Float64("delivered_per_s", out.FilteredDeliveredPerSec))

	// b. Broadcasts to 1,000 endpoints.
	bg, err := a.create(ctx, "/api/v1/groups", benchGroup("bench-routing-broadcast"))
	if err != nil {
		return nil, err
	}
	setupStart := time.Now()
	made, err := r.addEndpoints(ctx, a, bg, url, routingBroadcastApps, routingEndpointsPerApp)
	if err != nil {
		return nil, err
	}
	out.BroadcastEndpoints = made
	before := recv.requests.Load()
	answers, bStart, err := r.broadcasts(ctx, a, bg, routingBroadcasts)
	if err != nil {
		return nil, err
	}
	queuedEnd := r.clk.now()
	want := before + int64(routingBroadcasts*made)
	last = r.waitRequests(ctx, recv, want, routingDrain)
	out.Broadcasts = routingBroadcasts
	sort.Slice(answers, func(i, j int) bool { return answers[i] < answers[j] })
	out.BroadcastAnswerP50Ms = ms(answers[len(answers)/2])
	out.BroadcastAnswerMaxMs = ms(answers[len(answers)-1])
	out.BroadcastQueuedPerSec = perSec(routingBroadcasts*made, queuedEnd-bStart)
	got := recv.requests.Load() - before
	out.BroadcastDeliveredPerS = perSec(int(got), last-bStart)
	out.BroadcastUndelivered = int(want - recv.requests.Load())
	r.log.Info("routing: broadcasts", zap.Int("endpoints", made), zap.Float64("answer_p50_ms", out.BroadcastAnswerP50Ms),
		zap.Float64("delivered_per_s", out.BroadcastDeliveredPerS))

	// c. One broadcast to 10,000 endpoints, cold (the group's endpoints not yet cached) and warm.
	more, err := r.addEndpoints(ctx, a, bg, url, (routingLargeEndpoints-made)/routingEndpointsPerApp, routingEndpointsPerApp)
	if err != nil {
		return nil, err
	}
	out.LargeEndpoints = made + more
	out.EndpointSetupPerSec = round(float64(out.LargeEndpoints)/time.Since(setupStart).Seconds(), 1)
	before = recv.requests.Load()
	cold, lStart, err := r.broadcasts(ctx, a, bg, 1)
	if err != nil {
		return nil, err
	}
	warm, _, err := r.broadcasts(ctx, a, bg, 1)
	if err != nil {
		return nil, err
	}
	out.LargeAnswerColdMs, out.LargeAnswerWarmMs = ms(cold[0]), ms(warm[0])
	want = before + 2*int64(out.LargeEndpoints)
	last = r.waitRequests(ctx, recv, want, routingDrain)
	out.LargeDeliveredPerSec = perSec(int(recv.requests.Load()-before), last-lStart)
	out.LargeUndelivered = int(want - recv.requests.Load())
	out.DuplicateDeliveries = recv.Duplicates()
	out.RequestsAtReceiverTotal = recv.requests.Load()
	r.log.Info("routing: large broadcast", zap.Int("endpoints", out.LargeEndpoints),
		zap.Float64("answer_cold_ms", out.LargeAnswerColdMs), zap.Float64("answer_warm_ms", out.LargeAnswerWarmMs))
	return out, nil
}

// addEndpoints creates apps applications of perApp endpoints each in group g, all pointing
// at url, and returns how many endpoints it made.
func (r *runner) addEndpoints(ctx context.Context, a api, g, url string, apps, perApp int) (int, error) {
	jobs := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		made     int
		wg       sync.WaitGroup
	)
	for range routingSetupWorkers {
		wg.Go(func() {
			for i := range jobs {
				app, err := a.create(ctx, "/api/v1/groups/"+g+"/applications", map[string]any{"name": "bcast-" + strconv.Itoa(i)})
				for e := 0; err == nil && e < perApp; e++ {
					_, err = a.create(ctx, "/api/v1/groups/"+g+"/applications/"+app+"/endpoints", map[string]any{"url": url})
					if err == nil {
						mu.Lock()
						made++
						mu.Unlock()
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range apps {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return made, firstErr
}

func cmpErr(have, next error) error {
	if have != nil {
		return have
	}
	return next
}

// broadcasts posts n broadcasts one after the other and returns each answer's time and when
// the first was sent.
func (r *runner) broadcasts(ctx context.Context, a api, g string, n int) ([]time.Duration, time.Duration, error) {
	_, data := eventBody("", r.cfg.PayloadBytes)
	body := fmt.Appendf(nil, `{"event_type":"bench.broadcast","data":%s}`, data)
	start := r.clk.now()
	var answers []time.Duration
	for range n {
		sent := r.clk.now()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/api/v1/groups/"+g+"/events/broadcast", bytes.NewReader(body))
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+a.key)
		resp, err := a.client.Do(req)
		if err != nil {
			return nil, 0, fmt.Errorf("broadcast: %w", err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return nil, 0, fmt.Errorf("broadcast: status %d: %.300s", resp.StatusCode, raw)
		}
		answers = append(answers, r.clk.now()-sent)
	}
	return answers, start, nil
}

// waitRequests waits until recv has had want requests, nothing arrives for settleStall, or
// timeout passes; it returns when the last request arrived (or now).
func (r *runner) waitRequests(ctx context.Context, recv *Receiver, want int64, timeout time.Duration) time.Duration {
	deadline := time.Now().Add(timeout)
	seen, lastChange := recv.requests.Load(), time.Now()
	at := r.clk.now()
	for recv.requests.Load() < want && time.Now().Before(deadline) && time.Since(lastChange) < settleStall && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		if n := recv.requests.Load(); n != seen {
			seen, lastChange, at = n, time.Now(), r.clk.now()
		}
	}
	if recv.requests.Load() >= want {
		return at
	}
	return r.clk.now()
}

// rows are the table's routing figures.
func (rt *Routing) rows(row func(...string)) {
	row("", "", "", "")
	row("ROUTING", "", "", "")
	row("  filtered endpoints: accepted events/s (gRPC)", num(rt.FilteredAccept.PerSec), "", "")
	row("  filtered endpoints: delivered/s | undelivered", num(rt.FilteredDeliveredPerSec), commas(int64(rt.FilteredUndelivered)), "")
	row(fmt.Sprintf("  %d broadcasts to %s endpoints: answer p50 | max ms", rt.Broadcasts, commas(int64(rt.BroadcastEndpoints))),
		num(rt.BroadcastAnswerP50Ms), num(rt.BroadcastAnswerMaxMs), "")
	row("  broadcast deliveries queued/s | delivered/s", num(rt.BroadcastQueuedPerSec), num(rt.BroadcastDeliveredPerS), "")
	row(fmt.Sprintf("  broadcast to %s endpoints: answer cold | warm ms", commas(int64(rt.LargeEndpoints))),
		num(rt.LargeAnswerColdMs), num(rt.LargeAnswerWarmMs), "")
	row("  its deliveries/s | undelivered (both broadcasts)", num(rt.LargeDeliveredPerSec), commas(int64(rt.LargeUndelivered)), "")
	row("  duplicate deliveries", commas(int64(rt.DuplicateDeliveries)), "", "")
}

// routingTargets are issue 17's.
func (r *Result) routingTargets() []Target {
	rt := r.Routing
	if rt == nil {
		return nil
	}
	return []Target{
		{Issue: 17, Name: fmt.Sprintf("broadcast to %d endpoints answered within", rt.LargeEndpoints), Want: "<= 2000", Unit: "ms",
			Value: rt.LargeAnswerWarmMs, Pass: rt.LargeAnswerWarmMs > 0 && rt.LargeAnswerWarmMs <= 2000 && rt.LargeEndpoints >= routingLargeEndpoints,
			Note: fmt.Sprintf("the group's endpoints cached; the first broadcast after they changed reads them all: %s ms", num(rt.LargeAnswerColdMs))},
		{Issue: 17, Name: "broadcast deliveries undelivered", Want: "== 0", Unit: "events",
			Value: float64(rt.BroadcastUndelivered + rt.LargeUndelivered), Pass: rt.BroadcastUndelivered+rt.LargeUndelivered == 0},
	}
}
