package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"unicode/utf8"

	"convoy/core/tracing"

	"google.golang.org/grpc/metadata"
)

const (
	headerRequestID      = "X-Request-ID"
	headerIdempotencyKey = "Idempotency-Key"

	// Metadata keys sent to ingest-service.
	mdAuthorization = "authorization"
	mdRequestID     = "x-request-id"

	maxRequestIDLen = 128
)

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID keeps a caller's id when it is safe to echo in a header and to
// send as gRPC metadata (visible ASCII, bounded length) and makes a new one
// otherwise.
func requestID(given string) string {
	if given != "" && len(given) <= maxRequestIDLen && visibleASCII(given) {
		return given
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// outgoingContext attaches the caller's Authorization header and the
// request id as gRPC metadata. gRPC metadata values must be printable ASCII;
// anything else would fail inside the client as an Internal error, so it is
// refused here as a bad credential.
func outgoingContext(r *http.Request) (context.Context, error) {
	pairs := []string{mdRequestID, requestIDFrom(r.Context())}
	if auth := r.Header.Get("Authorization"); auth != "" {
		if !printableASCII(auth) {
			return nil, &httpError{status: http.StatusUnauthorized, message: "Authorization header must be printable ASCII"}
		}
		pairs = append(pairs, mdAuthorization, auth)
	}
	// The producer's trace context goes to ingest as it came (ingest keeps
	// only a valid one), apart from the standard keys, which carry the
	// gateway's own span while tracing is on.
	if tp := r.Header.Get(tracing.HeaderTraceParent); tp != "" && printableASCII(tp) {
		pairs = append(pairs, tracing.MetadataProducerParent, tp)
		if ts := r.Header.Get(tracing.HeaderTraceState); ts != "" && printableASCII(ts) {
			pairs = append(pairs, tracing.MetadataProducerState, ts)
		}
	}
	return metadata.AppendToOutgoingContext(r.Context(), pairs...), nil
}

// checkText rejects values that protobuf string fields cannot carry.
// JSON-decoded strings are always valid UTF-8; path segments, query
// parameters and headers need not be.
func checkText(name, v string) error {
	if !utf8.ValidString(v) {
		return badRequest("%s must be valid UTF-8", name)
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
