// Package httpapi is the gateway's HTTP/JSON surface: it routes each request
// to one IngestService call, maps JSON to protobuf and back, and maps gRPC
// errors to HTTP statuses. It holds no state of its own.
package httpapi

import (
	"context"
	"net/http"
	"time"

	"convoy/core/tracing"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// HealthChecker is the part of grpc_health_v1.HealthClient the gateway uses.
type HealthChecker interface {
	Check(ctx context.Context, in *healthpb.HealthCheckRequest, opts ...grpc.CallOption) (*healthpb.HealthCheckResponse, error)
}

// Options tune the handler; zero values take the defaults noted.
type Options struct {
	// MaxBodyBytes caps request bodies (413 beyond). Default 1 MiB.
	MaxBodyBytes int64
	// RPCTimeout bounds each request's ingest call. Zero means no bound
	// beyond the client's own connection.
	RPCTimeout time.Duration
	// HealthTimeout bounds the ingest health check. Default 2s.
	HealthTimeout time.Duration
	// PublicURL is the base of the links the API answers (portal links);
	// empty means the scheme and host of the request.
	PublicURL string
	// Observe, when set, is told of every request (for metrics).
	Observe func(route string, status int, elapsed time.Duration)
}

// API is the gateway's http.Handler.
type API struct {
	ingest ingestv1.IngestServiceClient
	health HealthChecker
	opts   Options
	log    *zap.Logger
	mux    *http.ServeMux
}

// New builds the handler and registers every route of routes().
func New(opts Options, ingest ingestv1.IngestServiceClient, health HealthChecker, log *zap.Logger) *API {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = 2 * time.Second
	}
	a := &API{ingest: ingest, health: health, opts: opts, log: log, mux: http.NewServeMux()}
	for _, rt := range routes() {
		a.mux.Handle(rt.method+" "+rt.path, a.adapt(rt))
	}
	return a
}

// ServeHTTP assigns the request id, caps the body, routes, recovers from
// panics and writes the one access log line.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID(r.Header.Get(headerRequestID))
	w.Header().Set(headerRequestID, id)
	sw := &statusWriter{ResponseWriter: w}

	ctx := withRequestID(r.Context(), id)
	if a.opts.RPCTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.opts.RPCTimeout)
		defer cancel()
	}
	var span trace.Span
	if tracing.Enabled() {
		ctx, span = startRequestSpan(ctx, r)
	}
	r = r.WithContext(ctx)
	// The original writer, so the server learns to close the connection
	// rather than drain an oversized body.
	r.Body = http.MaxBytesReader(w, r.Body, a.opts.MaxBodyBytes)

	defer func() {
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.log.Error("handler panicked", zap.Any("panic", p), zap.String("route", route), zap.String("request_id", id))
			if !sw.wroteHeader {
				writeEnvelope(sw, http.StatusInternalServerError, false, msgInternal, nil)
			}
		}
		if a.opts.Observe != nil {
			a.opts.Observe(route, sw.status(), time.Since(start))
		}
		if span != nil {
			endRequestSpan(span, r.Method, route, sw.status())
		}
		a.log.Info("request",
			zap.String("method", r.Method),
			zap.String("route", route),
			zap.Int("status", sw.status()),
			zap.Duration("duration", time.Since(start)),
			zap.String("request_id", id),
		)
	}()

	if _, pattern := a.mux.Handler(r); pattern == "" {
		a.unmatched(sw, r)
		return
	}
	a.mux.ServeHTTP(sw, r)
}

// unmatched answers requests no route takes (404, 405 with Allow, or the
// mux's path-cleaning redirect) with the JSON envelope instead of the mux's
// plain-text body.
func (a *API) unmatched(w http.ResponseWriter, r *http.Request) {
	probe := &probeWriter{header: http.Header{}}
	a.mux.ServeHTTP(probe, r)
	for _, h := range []string{"Allow", "Location"} {
		if v := probe.header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	st := probe.code
	if st == 0 {
		st = http.StatusNotFound
	}
	msg := http.StatusText(st)
	switch st {
	case http.StatusNotFound:
		msg = "no route for " + r.Method + " " + r.URL.Path
	case http.StatusMethodNotAllowed:
		msg = "method " + r.Method + " not allowed; allowed: " + probe.header.Get("Allow")
	}
	writeEnvelope(w, st, false, msg, nil)
}

// adapt turns a route's handler into an http.Handler: it checks path
// values, attaches the outgoing gRPC metadata, and writes the envelope or
// the mapped error.
func (a *API) adapt(rt route) http.Handler {
	params := rt.pathParams()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := a.call(rt, params, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if doc, ok := data.(rawDocument); ok {
			w.Header().Set("Content-Type", doc.contentType)
			w.WriteHeader(rt.status)
			_, _ = w.Write(doc.body)
			return
		}
		writeEnvelope(w, rt.status, true, rt.message, data)
	})
}

func (a *API) call(rt route, params []string, r *http.Request) (any, error) {
	for _, p := range params {
		if err := checkText(p, r.PathValue(p)); err != nil {
			return nil, err
		}
	}
	r, err := rt.in.canonicalQuery(r)
	if err != nil {
		return nil, err
	}
	r, err = a.decodeDeclaredBody(r, rt.in)
	if err != nil {
		return nil, err
	}
	if rt.public() {
		return rt.handle(a, r.Context(), r)
	}
	ctx, err := outgoingContext(r)
	if err != nil {
		return nil, err
	}
	return rt.handle(a, ctx, r)
}

// rawDocument is a handler result written as-is, without the envelope.
type rawDocument struct {
	contentType string
	body        []byte
}

// statusWriter remembers the status written, for the access log.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if !w.wroteHeader {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// probeWriter records what the mux would answer, discarding its body.
type probeWriter struct {
	header http.Header
	code   int
}

func (p *probeWriter) Header() http.Header { return p.header }

func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }

func (p *probeWriter) WriteHeader(code int) {
	if p.code == 0 {
		p.code = code
	}
}
