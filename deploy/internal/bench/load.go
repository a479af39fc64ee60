package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// accept is one request the target accepted: the event id and when the answer came back.
type accept struct {
	id string
	// sent is when the request was sent and at when its 2xx was read, on the bench clock.
	// Latency counts from sent: the event is accepted somewhere in between, and a delivery
	// can reach the receiver before the producer has read the answer.
	sent, at time.Duration
}

// outcome is the result of one request: ok with the accepted id, or a failure code (the HTTP
// status, the gRPC code, or "transport").
type outcome struct {
	id   string
	ok   bool
	code string
	err  error
}

// sendFunc makes one request. Each worker gets its own, so it may keep buffers.
type sendFunc func(ctx context.Context) outcome

// tally is what a load run produced.
type tally struct {
	accepts  []accept
	failures map[string]int // by code
	firstErr string
	sent     int
	start    time.Duration // first request, on the bench clock
	end      time.Duration // last answer
	// missed counts open-loop sends that were due while every worker was busy; they were not
	// made, so the offered rate fell short by that many.
	missed int
}

func (t *tally) merge(o *tally) {
	t.accepts = append(t.accepts, o.accepts...)
	t.sent += o.sent
	for k, v := range o.failures {
		if t.failures == nil {
			t.failures = map[string]int{}
		}
		t.failures[k] += v
	}
	if t.firstErr == "" {
		t.firstErr = o.firstErr
	}
}

func (t *tally) record(clk clock, sent time.Duration, o outcome) {
	t.sent++
	if o.ok {
		t.accepts = append(t.accepts, accept{id: o.id, sent: sent, at: clk.now()})
		return
	}
	if t.failures == nil {
		t.failures = map[string]int{}
	}
	t.failures[o.code]++
	if t.firstErr == "" {
		t.firstErr = o.code
		if o.err != nil {
			t.firstErr += ": " + o.err.Error()
		}
	}
}

func (t *tally) failed() int {
	n := 0
	for _, v := range t.failures {
		n += v
	}
	return n
}

// loopOptions bound a closed-loop run.
type loopOptions struct {
	workers  int
	duration time.Duration
	// limit caps the number of requests (0: duration only).
	limit int64
	// gate, when set, is polled before each request; false holds the worker back (used to
	// keep the backlog of accepted but undelivered events bounded).
	gate func() bool
	// accepted, when set, counts accepted requests as they happen.
	accepted *atomic.Int64
}

// closedLoop runs workers that each send the next request as soon as the previous one was
// answered, until the duration is over or the limit is reached. Requests in flight at the
// deadline are allowed to finish, so none is cut off after the server may have accepted it.
func closedLoop(ctx context.Context, clk clock, o loopOptions, newSend func() sendFunc) *tally {
	deadline := clk.now() + o.duration
	var issued atomic.Int64
	parts := make([]*tally, o.workers)
	start := clk.now()
	var wg sync.WaitGroup
	for w := range o.workers {
		send := newSend()
		part := &tally{}
		parts[w] = part
		wg.Go(func() {
			for ctx.Err() == nil && clk.now() < deadline {
				if o.gate != nil && !o.gate() {
					time.Sleep(time.Millisecond)
					continue
				}
				if o.limit > 0 && issued.Add(1) > o.limit {
					return
				}
				sent := clk.now()
				out := send(ctx)
				part.record(clk, sent, out)
				if out.ok && o.accepted != nil {
					o.accepted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t := &tally{start: start, end: clk.now()}
	for _, p := range parts {
		t.merge(p)
	}
	return t
}

// openLoop offers requests at a fixed rate regardless of how fast they are answered, from a
// pool of workers: a request that falls due while every worker is busy is counted as missed
// rather than delayed, so a slow target cannot quietly lower the offered rate.
func openLoop(ctx context.Context, clk clock, rate int, duration time.Duration, workers int,
	accepted *atomic.Int64, newSend func() sendFunc) *tally {
	total := int(float64(rate) * duration.Seconds())
	interval := time.Second / time.Duration(rate)
	due := make(chan struct{}, workers)
	parts := make([]*tally, workers)
	var wg sync.WaitGroup
	for w := range workers {
		send := newSend()
		part := &tally{}
		parts[w] = part
		wg.Go(func() {
			for range due {
				sent := clk.now()
				out := send(ctx)
				part.record(clk, sent, out)
				if out.ok && accepted != nil {
					accepted.Add(1)
				}
			}
		})
	}
	missed := 0
	start := clk.now()
	for i := 0; i < total && ctx.Err() == nil; i++ {
		if wait := start + time.Duration(i)*interval - clk.now(); wait > 0 {
			time.Sleep(wait) // oversleeping is made up by the next sends, which are then due at once
		}
		select {
		case due <- struct{}{}:
		default:
			missed++
		}
	}
	close(due)
	wg.Wait()
	t := &tally{start: start, end: clk.now(), missed: missed}
	for _, p := range parts {
		t.merge(p)
	}
	return t
}

// newHTTPClient returns a keep-alive client with an idle connection for every worker, so
// no request pays for a TCP handshake.
func newHTTPClient(workers int) *http.Client {
	tr := &http.Transport{
		MaxIdleConns:        workers * 2,
		MaxIdleConnsPerHost: workers * 2,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// eventBody returns the pre-encoded request body of POST /events with a data payload of about
// payloadBytes, and the data itself (what gRPC sends).
func eventBody(appID string, payloadBytes int) (body, data []byte) {
	pad := max(payloadBytes-len(`{"kind":"bench","pad":""}`), 0)
	data = fmt.Appendf(nil, `{"kind":"bench","pad":"%s"}`, bytes.Repeat([]byte("x"), pad))
	body = fmt.Appendf(nil, `{"app_id":%q,"event_type":"bench.event","data":%s}`, appID, data)
	return body, data
}

// httpEventSender posts the event body to the gateway and reads the event id from the answer.
func httpEventSender(client *http.Client, url, adminKey string, body []byte) func() sendFunc {
	header := http.Header{
		"Content-Type":  {"application/json"},
		"Authorization": {"Bearer " + adminKey},
	}
	return func() sendFunc {
		buf := bytes.NewBuffer(make([]byte, 0, 4096))
		return func(ctx context.Context) outcome {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				return outcome{code: "request", err: err}
			}
			req.Header = header // read-only from here on, so shared by every request
			resp, err := client.Do(req)
			if err != nil {
				return outcome{code: "transport", err: err}
			}
			buf.Reset()
			_, err = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return outcome{code: strconv.Itoa(resp.StatusCode), err: fmt.Errorf("%.200s", buf.Bytes())}
			}
			if err != nil {
				return outcome{code: "transport", err: err}
			}
			id := extractUID(buf.Bytes())
			if id == "" {
				return outcome{code: "no uid", err: fmt.Errorf("%.200s", buf.Bytes())}
			}
			return outcome{id: id, ok: true}
		}
	}
}

// extractUID returns data.uid from the gateway's answer {"status","message","data":{"uid":…}}
// without decoding the whole document: the generator must stay cheap. Event ids are ULIDs, so
// the value holds no escapes.
func extractUID(b []byte) string {
	i := bytes.Index(b, []byte(`"data":`))
	if i < 0 {
		return ""
	}
	b = b[i:]
	j := bytes.Index(b, []byte(`"uid":"`))
	if j < 0 {
		return ""
	}
	b = b[j+len(`"uid":"`):]
	k := bytes.IndexByte(b, '"')
	if k <= 0 {
		return ""
	}
	return string(b[:k])
}

// rawSender posts the same body straight to the receiver, with made-up event and delivery
// ids, so the receiver does the same work as for a real delivery.
func rawSender(client *http.Client, url string, body []byte) func() sendFunc {
	var worker atomic.Int64
	return func() sendFunc {
		prefix := "raw-" + strconv.FormatInt(worker.Add(1), 10) + "-"
		var seq int
		return func(ctx context.Context) outcome {
			seq++
			id := prefix + strconv.Itoa(seq)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				return outcome{code: "request", err: err}
			}
			req.Header = http.Header{
				"Content-Type":   {"application/json"},
				headerEventID:    {id},
				headerDeliveryID: {id},
			}
			resp, err := client.Do(req)
			if err != nil {
				return outcome{code: "transport", err: err}
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return outcome{code: strconv.Itoa(resp.StatusCode)}
			}
			return outcome{id: id, ok: true}
		}
	}
}

// grpcEventSender calls CreateEvent; the connection multiplexes every worker's calls.
func grpcEventSender(conn *grpc.ClientConn, adminKey, groupID, appID string, data []byte) func() sendFunc {
	client := ingestv1.NewIngestServiceClient(conn)
	return func() sendFunc {
		req := &ingestv1.CreateEventRequest{GroupId: groupID, AppId: appID, EventType: "bench.event", Data: data}
		// The loops pass the same context to every call: attach the metadata once.
		var in, out context.Context
		return func(ctx context.Context) outcome {
			if ctx != in {
				in, out = ctx, metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+adminKey)
			}
			ev, err := client.CreateEvent(out, req)
			if err != nil {
				return outcome{code: "grpc " + status.Code(err).String(), err: err}
			}
			return outcome{id: ev.GetUid(), ok: true}
		}
	}
}
