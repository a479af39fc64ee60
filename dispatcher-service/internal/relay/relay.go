// Package relay hands an attempt to a local-development listener (convoy
// listen) instead of posting it: the signed request goes over NATS
// request/reply to the endpoint's listener subject, and the listener's
// report of what its local process answered comes back as the result,
// which is then recorded like any attempt (package core/listener).
package relay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"convoy/core/listener"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/outbound"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// Requester is the NATS connection.
type Requester interface {
	RequestMsgWithContext(ctx context.Context, msg *nats.Msg) (*nats.Msg, error)
}

// Attachments tells whether a listener is attached to an endpoint.
type Attachments interface {
	Attached(endpointID string) bool
}

// Relay routes the attempts of endpoints with a listener attached.
type Relay struct {
	nc       Requester
	sessions Attachments
	maxBody  int
}

// New returns a Relay; maxBody caps a reported body as the HTTP client caps
// a response's.
func New(nc Requester, sessions Attachments, maxBody int) *Relay {
	if maxBody <= 0 {
		maxBody = outbound.DefaultMaxResponseBytes
	}
	return &Relay{nc: nc, sessions: sessions, maxBody: maxBody}
}

// ListenerIP is the attempt's ip_address when a listener answered it.
const ListenerIP = "listener"

// answerMargin is how much longer than the endpoint's timeout the
// dispatcher waits for a listener's report: the local request's own
// timeout plus the hops through ingest and the listener.
const answerMargin = 5 * time.Second

// Route returns the poster for an attempt to ep: the listener's when one is
// attached, else none (the attempt is posted as usual).
func (r *Relay) Route(endpointID string, d deliver.Delivery) (deliver.Poster, bool) {
	if !r.sessions.Attached(endpointID) {
		return nil, false
	}
	return poster{r: r, endpointID: endpointID, d: d}, true
}

type poster struct {
	r          *Relay
	endpointID string
	d          deliver.Delivery
}

// Post sends the request to the listener and waits for its report.
func (p poster) Post(ctx context.Context, url string, header http.Header, body []byte, timeout time.Duration) outbound.Result {
	start := time.Now()
	req := &ingestv1.ListenDelivery{
		DeliveryId: p.d.DeliveryID, EventId: p.d.EventID, EventType: p.d.EventType, EndpointId: p.endpointID,
		Attempt: p.d.Attempt, Method: http.MethodPost, Url: url, Body: body, TimeoutMs: timeout.Milliseconds(),
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Headers = append(req.Headers, &ingestv1.ListenHeader{Name: k, Value: v})
		}
	}
	data, err := proto.Marshal(req)
	if err != nil {
		return outbound.Result{Err: fmt.Errorf("encode for listener: %w", err), Duration: time.Since(start)}
	}
	rctx, cancel := context.WithTimeout(ctx, timeout+answerMargin)
	defer cancel()
	reply, err := p.r.nc.RequestMsgWithContext(rctx, &nats.Msg{Subject: listener.Subject(p.endpointID), Data: data})
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			err = errors.New("no listener connected")
		} else if errors.Is(err, context.DeadlineExceeded) {
			err = outbound.ErrTimeout
		}
		return outbound.Result{Err: fmt.Errorf("listener: %w", err), Duration: time.Since(start), IP: ListenerIP}
	}
	var out ingestv1.ListenOutcome
	if err := proto.Unmarshal(reply.Data, &out); err != nil {
		return outbound.Result{Err: fmt.Errorf("listener answer: %w", err), Duration: time.Since(start), IP: ListenerIP}
	}
	if out.DeliveryId != p.d.DeliveryID {
		// Only the listener handed this attempt knows both its reply
		// subject and its delivery.
		return outbound.Result{Err: fmt.Errorf("listener answered for delivery %q", out.DeliveryId), Duration: time.Since(start), IP: ListenerIP}
	}
	return p.r.result(&out, time.Since(start))
}

// result turns the listener's report into what the HTTP client would have
// returned.
func (r *Relay) result(o *ingestv1.ListenOutcome, took time.Duration) outbound.Result {
	res := outbound.Result{StatusCode: int(o.StatusCode), IP: ListenerIP, Proto: "HTTP/1.1", Duration: took}
	if o.DurationMs > 0 {
		res.Duration = time.Duration(o.DurationMs) * time.Millisecond
	}
	if len(o.Headers) > 0 {
		res.Header = http.Header{}
		for _, h := range o.Headers {
			res.Header.Add(h.Name, h.Value)
		}
		res.Location = res.Header.Get("Location")
	}
	res.Body = o.Body
	if len(res.Body) > r.maxBody {
		res.Body, res.Truncated = res.Body[:r.maxBody], true
	}
	switch {
	case o.Error != "":
		res.Err = errors.New("listener: " + o.Error)
	case o.StatusCode < 100 || o.StatusCode > 599:
		res.Err = fmt.Errorf("listener: reported status %d", o.StatusCode)
	}
	return res
}
