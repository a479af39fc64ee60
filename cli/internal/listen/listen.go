// Package listen is `convoy listen`: it attaches to an endpoint over
// ingest-service's Listen stream, posts every attempt handed to it to a
// local URL with the headers and signature the dispatcher would have sent,
// and reports the local answer back as the attempt's outcome. After a
// disconnect it reconnects with the cursor of its first stream, so that
// what it missed meanwhile is sent again.
package listen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Options say what to listen to and where to forward.
type Options struct {
	GroupID    string
	EndpointID string
	// ForwardTo is the local URL every delivery is posted to.
	ForwardTo string
	// Cursor, when set, is where a previous run stopped: what is not yet
	// successful since then is sent again on the first connect.
	Cursor string
	// Concurrency bounds the local requests in flight (default 8).
	Concurrency int
	// Out receives one line per delivery and per connection change.
	Out io.Writer
	// MaxReconnectWait caps the wait between reconnects (default 5s).
	MaxReconnectWait time.Duration
}

// Listener forwards one endpoint's deliveries.
type Listener struct {
	api  ingestv1.IngestServiceClient
	opts Options
	http *http.Client

	mu     sync.Mutex
	cursor string
}

// New returns a Listener calling api.
func New(api ingestv1.IngestServiceClient, opts Options) *Listener {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.MaxReconnectWait <= 0 {
		opts.MaxReconnectWait = 5 * time.Second
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	return &Listener{
		api: api, opts: opts, cursor: opts.Cursor,
		// Redirects are not followed, as the dispatcher does not.
		http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// Cursor is where a reconnect resumes from.
func (l *Listener) Cursor() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cursor
}

// Run listens until ctx ends, reconnecting after every disconnect. It
// returns an error only for what reconnecting cannot fix (bad credentials,
// an unknown endpoint).
func (l *Listener) Run(ctx context.Context) error {
	wait := 100 * time.Millisecond
	for {
		started := time.Now()
		err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch status.Code(err) {
		case codes.Unauthenticated, codes.PermissionDenied, codes.NotFound, codes.InvalidArgument:
			return err
		}
		if time.Since(started) > time.Minute {
			wait = 100 * time.Millisecond
		}
		fmt.Fprintf(l.opts.Out, "disconnected (%v); reconnecting in %v\n", err, wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, l.opts.MaxReconnectWait)
	}
}

// session is one Listen stream, from connect to disconnect. Attempts being
// forwarded when it ends are still reported.
func (l *Listener) session(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := l.api.Listen(sctx, &ingestv1.ListenRequest{GroupId: l.opts.GroupID, EndpointId: l.opts.EndpointID, Cursor: l.Cursor()})
	if err != nil {
		return err
	}
	slots := make(chan struct{}, l.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("stream ended")
			}
			return err
		}
		switch msg := m.Message.(type) {
		case *ingestv1.ListenMessage_Ready:
			l.mu.Lock()
			if l.cursor == "" {
				l.cursor = msg.Ready.Cursor
			}
			l.mu.Unlock()
			fmt.Fprintf(l.opts.Out, "listening on endpoint %s, forwarding to %s (cursor %s, %d sent again)\n",
				l.opts.EndpointID, l.opts.ForwardTo, msg.Ready.Cursor, msg.Ready.Resent)
		case *ingestv1.ListenMessage_Delivery:
			d := msg.Delivery
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				out := l.forward(ctx, d)
				l.report(ctx, d, out)
			}()
		}
	}
}

// maxBody bounds the local answer's body that is reported (the dispatcher
// keeps less).
const maxBody = 1 << 20

// forward posts the delivery to the local URL exactly as handed over.
func (l *Listener) forward(ctx context.Context, d *ingestv1.ListenDelivery) *ingestv1.ListenOutcome {
	out := &ingestv1.ListenOutcome{DeliveryId: d.DeliveryId, Url: l.opts.ForwardTo}
	timeout := time.Duration(d.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := d.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(rctx, method, l.opts.ForwardTo, bytes.NewReader(d.Body))
	if err != nil {
		out.Error = err.Error()
		return out
	}
	for _, h := range d.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	start := time.Now()
	resp, err := l.http.Do(req)
	if err != nil {
		out.DurationMs = time.Since(start).Milliseconds()
		out.Error = err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			out.Error = "timeout"
		}
		return out
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	out.DurationMs = time.Since(start).Milliseconds()
	out.StatusCode = int32(resp.StatusCode)
	out.Body = body
	if err != nil {
		out.Error = "read answer: " + err.Error()
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			out.Headers = append(out.Headers, &ingestv1.ListenHeader{Name: k, Value: v})
		}
	}
	return out
}

// report hands the outcome back, trying a few times: a report that never
// arrives fails the attempt when the dispatcher stops waiting, and the
// delivery is retried.
func (l *Listener) report(ctx context.Context, d *ingestv1.ListenDelivery, out *ingestv1.ListenOutcome) {
	req := &ingestv1.ReportListenOutcomeRequest{GroupId: l.opts.GroupID, EndpointId: l.opts.EndpointID, ReplyToken: d.ReplyToken, Outcome: out}
	var err error
	for try := range 3 {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, err = l.api.ReportListenOutcome(rctx, req)
		cancel()
		if err == nil || status.Code(err) == codes.InvalidArgument {
			break
		}
		time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
	}
	result := fmt.Sprintf("%d", out.StatusCode)
	if out.Error != "" {
		result = "error: " + out.Error
	}
	if err != nil {
		result += fmt.Sprintf(" (not reported: %v)", status.Convert(err).Message())
	}
	fmt.Fprintf(l.opts.Out, "%s %s delivery=%s attempt=%d -> %s (%dms)\n",
		time.Now().Format("15:04:05"), d.EventType, d.DeliveryId, d.Attempt, result, out.DurationMs)
}
