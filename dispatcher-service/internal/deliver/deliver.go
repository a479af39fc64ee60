// Package deliver makes one attempt of one delivery: it builds the request
// (our headers, the event's custom headers, the signature over exactly the
// bytes sent), posts it through the guarded client, and turns what happened
// into the attempt that is recorded.
package deliver

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/signingkey"
	"convoy/core/tracing"
	"convoy/dispatcher-service/internal/authn"
	"convoy/dispatcher-service/internal/outbound"
	"convoy/dispatcher-service/internal/sign"
	queuev1 "convoy/proto/convoy/queue/v1"
)

// Header names Convoy sets on every delivery.
const (
	HeaderEventID        = "X-Convoy-Event-ID"
	HeaderEventType      = "X-Convoy-Event-Type"
	HeaderDeliveryID     = "X-Convoy-Delivery-ID"
	HeaderIdempotencyKey = "X-Convoy-Idempotency-Key"
)

// Poster sends one request.
type Poster interface {
	Post(ctx context.Context, url string, header http.Header, body []byte, timeout time.Duration) outbound.Result
}

// Delivery names the attempt a Router routes.
type Delivery struct {
	DeliveryID, EventID, EventType string
	Attempt                        int32
}

// Router may send an endpoint's attempts some other way than the HTTP
// client: to a local-development listener (package relay).
type Router interface {
	Route(endpointID string, d Delivery) (Poster, bool)
}

// Deliverer makes attempts.
type Deliverer struct {
	client    Poster
	auth      *authn.Authenticator
	router    Router
	userAgent string
	now       func() time.Time
}

// New returns a Deliverer posting through client.
func New(client Poster, version string) *Deliverer {
	return &Deliverer{client: client, userAgent: "Convoy/" + version, now: time.Now}
}

// WithAuthentication makes the Deliverer authenticate to endpoints that ask
// for it. Without it, an endpoint with authentication gets failed attempts
// rather than unauthenticated requests.
func (d *Deliverer) WithAuthentication(a *authn.Authenticator) *Deliverer {
	d.auth = a
	return d
}

// WithRouter returns d routing through r first.
func (d *Deliverer) WithRouter(r Router) *Deliverer {
	d.router = r
	return d
}

// Outcome is one attempt and what the endpoint said.
type Outcome struct {
	Attempt model.Attempt
	// Result is the raw result, for Retry-After and logging.
	Result outbound.Result
}

// Attempt posts the task's payload to the endpoint, signed with the group's
// settings and the endpoint's valid secrets.
func (d *Deliverer) Attempt(ctx context.Context, t *queuev1.DeliveryTask, ep *model.Endpoint, g *model.Group) Outcome {
	if tracing.Enabled() {
		ctx, span := startAttempt(ctx, t, ep)
		o := d.attempt(ctx, t, ep, g)
		endAttempt(span, o)
		return o
	}
	return d.attempt(ctx, t, ep, g)
}

func (d *Deliverer) attempt(ctx context.Context, t *queuev1.DeliveryTask, ep *model.Endpoint, g *model.Group) Outcome {
	now := d.now()
	failed := func(msg string) Outcome {
		// A signing or authentication failure is a failed attempt like any
		// other: it is recorded and retried, and its error says why.
		return Outcome{Attempt: model.Attempt{
			UID: ids.New(), URL: ep.URL, Method: http.MethodPost, Error: msg, CreatedAt: now.UTC(),
		}}
	}
	header, err := d.headers(t, ep, g, now)
	if err != nil {
		return failed("sign payload: " + err.Error())
	}
	setTraceHeaders(ctx, header, t, ep)
	client := d.client
	if ep.Authentication != nil {
		if d.auth == nil {
			return failed("authenticate: endpoint authentication is not available in this dispatcher")
		}
		if ep.Authentication.MTLS != nil {
			c, err := d.auth.Client(ep)
			if err != nil {
				return failed("authenticate: " + err.Error())
			}
			client = c
		}
		ah, err := d.auth.Header(ctx, ep)
		if err != nil {
			return failed("authenticate: " + err.Error())
		}
		merge(header, ah)
	}
	if d.router != nil {
		// A local-development listener attached to the endpoint takes the
		// signed (and authenticated) request instead of its URL.
		if p, ok := d.router.Route(ep.UID, Delivery{DeliveryID: t.DeliveryId, EventID: t.EventId, EventType: t.EventType, Attempt: t.Attempt}); ok {
			client = p
		}
	}
	res := client.Post(ctx, ep.URL, header, t.Data, ep.HTTPTimeout)
	if res.Err == nil && res.StatusCode == http.StatusUnauthorized && d.auth != nil {
		// The token may have been revoked or expired early: one new token
		// and one more request, within this attempt.
		ah, refreshed, err := d.auth.Refresh(ctx, ep)
		switch {
		case err != nil:
			res.Err = errors.New("endpoint answered 401 and the token refresh failed: " + err.Error())
		case refreshed:
			merge(header, ah)
			first := res.Duration
			res = client.Post(ctx, ep.URL, header, t.Data, ep.HTTPTimeout)
			res.Duration += first
		}
	}
	a := model.Attempt{
		UID:               ids.New(),
		URL:               ep.URL,
		Method:            http.MethodPost,
		IPAddress:         res.IP,
		RequestHeader:     flatten(redact(header, append(authn.SensitiveHeaders(ep), ep.SignatureOf(g).Header)...)),
		ResponseHeader:    flatten(res.Header),
		HTTPStatus:        int32(res.StatusCode),
		ResponseData:      string(res.Body),
		ResponseTruncated: res.Truncated,
		DurationMs:        res.Duration.Milliseconds(),
		CreatedAt:         now.UTC(),
	}
	var blocked *outbound.BlockedError
	switch {
	case errors.As(res.Err, &blocked):
		// Say plainly that Convoy refused, not the network or the endpoint.
		a.Error = "refused to connect: " + res.Err.Error()
	case res.Err != nil:
		a.Error = res.Err.Error()
	case res.StatusCode >= 200 && res.StatusCode < 300:
		a.Status = true
	case res.StatusCode >= 300 && res.StatusCode < 400:
		a.Error = "redirect not followed"
		if res.Location != "" {
			a.Error += " (Location: " + res.Location + ")"
		}
	default:
		a.Error = "endpoint answered " + http.StatusText(res.StatusCode)
	}
	return Outcome{Attempt: a, Result: res}
}

// headers builds the request headers: the endpoint's custom headers, then
// the event's, which win over the endpoint's of the same name, then ours,
// which win over any custom header.
func (d *Deliverer) headers(t *queuev1.DeliveryTask, ep *model.Endpoint, g *model.Group, now time.Time) (http.Header, error) {
	h := http.Header{}
	for k, v := range ep.CustomHeaders {
		h.Set(k, v)
	}
	for k, v := range t.CustomHeaders {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.userAgent)
	h.Set(HeaderEventID, t.EventId)
	h.Set(HeaderEventType, t.EventType)
	h.Set(HeaderDeliveryID, t.DeliveryId)
	if t.IdempotencyKey != "" {
		h.Set(HeaderIdempotencyKey, t.IdempotencyKey)
	}
	secrets := make([]sign.Secret, 0, len(ep.Secrets))
	for _, s := range ep.Secrets {
		var exp time.Time
		if s.ExpiresAt != nil {
			exp = *s.ExpiresAt
		}
		secrets = append(secrets, sign.Secret{Value: s.Value, ExpiresAt: exp})
	}
	sc := ep.SignatureOf(g)
	formats := make([]sign.Format, 0, 2)
	var key ed25519.PrivateKey
	for _, f := range sc.FormatList() {
		formats = append(formats, sign.Format(f))
		if f == model.FormatStandardWebhooksAsymmetric {
			k, err := signingkey.Parse(ep.SigningKey)
			if err != nil {
				return nil, err
			}
			key = k
		}
	}
	sig, err := sign.Sign(sign.Input{
		Formats: formats, SigningKey: key, Hash: sc.Hash, Header: sc.Header,
		ReplayAttacks: g.Config.ReplayAttacks, Secrets: secrets,
		DeliveryID: t.DeliveryId, Body: t.Data, Now: now,
	})
	if err != nil {
		return nil, err
	}
	for k, vs := range sig {
		h[k] = vs
	}
	return h, nil
}

// merge sets every header of from on h, replacing values of the same name.
func merge(h, from http.Header) {
	for k, vs := range from {
		h[k] = vs
	}
}

// redact hides signature and credential values in the recorded request
// headers: a recorded signature is no secret, but it need not sit in the
// store either; a credential must not.
func redact(h http.Header, names ...string) http.Header {
	out := h.Clone()
	for _, k := range append(names, sign.HeaderWebhookSignature) {
		if _, ok := out[http.CanonicalHeaderKey(k)]; ok {
			out.Set(k, "[redacted]")
		}
	}
	return out
}

// flatten joins repeated header values, keeping the record a simple map.
func flatten(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// Kind names what happened, for metrics: success, http_error, redirect,
// timeout, refused or error.
func (o Outcome) Kind() string {
	var blocked *outbound.BlockedError
	switch {
	case o.Attempt.Status:
		return "success"
	case errors.As(o.Result.Err, &blocked):
		return "refused"
	case errors.Is(o.Result.Err, outbound.ErrTimeout):
		return "timeout"
	case o.Result.Err != nil || o.Result.StatusCode == 0:
		return "error"
	case o.Result.StatusCode >= 300 && o.Result.StatusCode < 400:
		return "redirect"
	default:
		return "http_error"
	}
}
