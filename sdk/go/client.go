// Package convoy is the Go client of Convoy's HTTP API. Every operation of
// the API's OpenAPI document is a method of Client (generated into
// operations_gen.go, with the document's schemas in types_gen.go); this file
// is what they share: the envelope, errors, idempotency keys and retries.
//
//	c := convoy.New("http://localhost:5005", os.Getenv("CONVOY_API_KEY"))
//	ev, err := c.CreateEvent(ctx, groupID, &convoy.EventInput{
//		AppID: appID, EventType: "invoice.paid", Data: json.RawMessage(`{"id":1}`),
//	}, nil)
package convoy

//go:generate go run ./internal/gen/cmd/sdkgen ../../api-gateway/internal/httpapi/openapi.json .

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one Convoy deployment with one API key.
type Client struct {
	baseURL string
	apiKey  string
	http    *http.Client
	retry   Retry
	sleep   func(ctx context.Context, d time.Duration) error
}

// Retry says how failed calls are tried again. A 429 is always retried (the
// call was not taken); a 5xx or a connection error only when repeating the
// call is safe: a GET, a DELETE, or a call carrying an idempotency key
// (event creation always does).
type Retry struct {
	// Attempts is how many times a call is made at most (default 4; 1
	// disables retries).
	Attempts int
	// Base is the first backoff, doubled each time (default 200ms), used
	// when the answer has no Retry-After.
	Base time.Duration
	// MaxWait caps any one wait, Retry-After included (default 30s).
	MaxWait time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through hc.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithRetry sets the retry policy.
func WithRetry(r Retry) Option { return func(c *Client) { c.retry = r } }

// New returns a client of the API at baseURL (e.g. http://localhost:5005)
// authenticating with apiKey.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		apiKey:  apiKey,
		http:    &http.Client{Timeout: 60 * time.Second},
		sleep:   sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	if c.retry.Attempts <= 0 {
		c.retry.Attempts = 4
	}
	if c.retry.Base <= 0 {
		c.retry.Base = 200 * time.Millisecond
	}
	if c.retry.MaxWait <= 0 {
		c.retry.MaxWait = 30 * time.Second
	}
	return c
}

// Operation is one operation of the API.
type Operation struct {
	// ID is the OpenAPI operationId, Func the Client method that calls it.
	ID, Method, Path, Func string
}

// Operations lists every operation the client implements.
func Operations() []Operation { return append([]Operation(nil), operations...) }

// Error is an answer other than 2xx.
type Error struct {
	StatusCode int
	// Message is the envelope's message (it names the field at fault for a
	// 400).
	Message string
	// RetryAfter is the answer's Retry-After, if any.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("convoy: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// IsNotFound reports whether err is a 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// Page is one page of a list.
type Page[T any] struct {
	Content    []T        `json:"content"`
	Pagination Pagination `json:"pagination"`
}

// ConvoyPage is one page of a list on the Convoy-compatible routes.
type ConvoyPage[T any] struct {
	Content    []T              `json:"content"`
	Pagination ConvoyPagination `json:"pagination"`
}

// Ptr returns a pointer to v, for the optional fields of inputs.
func Ptr[T any](v T) *T { return &v }

// envelope is every answer's shape but the OpenAPI document's.
type envelope struct {
	Status  bool            `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// requestBody is a body encoded once, so that every try sends the same bytes.
type requestBody struct {
	data []byte
	err  error
}

func bodyOf[T any](v *T) *requestBody {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	return &requestBody{data: b, err: err}
}

// IdempotencyKeyHeader is the header an event creation is keyed by.
const IdempotencyKeyHeader = "Idempotency-Key"

// withIdempotencyKey gives a call that takes an idempotency key one if the
// caller gave none, so that a retried creation is stored once. (A key in
// the body wins over the header on the server.)
func withIdempotencyKey(h http.Header) http.Header {
	if h == nil {
		h = http.Header{}
	}
	if h.Get(IdempotencyKeyHeader) == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		h.Set(IdempotencyKeyHeader, "sdk-"+hex.EncodeToString(b[:]))
	}
	return h
}

// do makes a call whose answer is enveloped, decoding data into out.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, h http.Header, body *requestBody, out any) error {
	raw, err := c.call(ctx, method, path, q, h, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("convoy: %s %s: answer is not an envelope: %w", method, path, err)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("convoy: %s %s: decode data: %w", method, path, err)
	}
	return nil
}

// doRaw makes a call whose answer is not enveloped (the OpenAPI document).
func (c *Client) doRaw(ctx context.Context, method, path string, q url.Values, h http.Header, out *json.RawMessage) error {
	raw, err := c.call(ctx, method, path, q, h, nil)
	if err != nil {
		return err
	}
	*out = raw
	return nil
}

// call sends the request, retrying as Retry says, and returns the body of
// a 2xx answer.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, h http.Header, body *requestBody) ([]byte, error) {
	if body != nil && body.err != nil {
		return nil, fmt.Errorf("convoy: encode body: %w", body.err)
	}
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	safe := method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete || h.Get(IdempotencyKeyHeader) != ""
	var last error
	for try := 1; ; try++ {
		raw, retryAfter, err := c.once(ctx, method, u, h, body)
		if err == nil {
			return raw, nil
		}
		last = err
		var apiErr *Error
		retryable := false
		switch {
		case errors.As(err, &apiErr):
			retryable = apiErr.StatusCode == http.StatusTooManyRequests || (apiErr.StatusCode >= 500 && safe)
		case ctx.Err() != nil:
			return nil, err
		default:
			retryable = safe // no answer: the call may or may not have been taken
		}
		if !retryable || try >= c.retry.Attempts {
			return nil, last
		}
		wait := retryAfter
		if wait <= 0 {
			wait = backoff(c.retry.Base, try)
		}
		if wait > c.retry.MaxWait {
			wait = c.retry.MaxWait
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, last
		}
	}
}

// once makes one request.
func (c *Client) once(ctx context.Context, method, u string, h http.Header, body *requestBody) ([]byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body.data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, fmt.Errorf("convoy: %w", err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("convoy: %s %s: %w", method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("convoy: %s %s: read answer: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return raw, 0, nil
	}
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var env envelope
	if json.Unmarshal(raw, &env) == nil && env.Message != "" {
		e.Message = env.Message
	} else {
		e.Message = strings.TrimSpace(string(raw))
	}
	return nil, e.RetryAfter, e
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// backoff is the wait before try+1: base doubled per try, with jitter.
func backoff(base time.Duration, try int) time.Duration {
	d := float64(base) * math.Pow(2, float64(try-1))
	return time.Duration(d/2 + mrand.Float64()*d/2)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func itoa(v int) string { return strconv.Itoa(v) }

func btoa(v bool) string { return strconv.FormatBool(v) }
