package httpapi

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file is the one place where gRPC codes become HTTP statuses.

const (
	msgInternal    = "internal server error"
	msgUnavailable = "ingest service unavailable"
)

// httpError is an answer the gateway gives by itself, without asking
// ingest-service: bad JSON, bad query parameters, oversized bodies.
type httpError struct {
	status  int
	message string
}

func (e *httpError) Error() string { return e.message }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

// httpStatus maps a gRPC code from ingest-service to the HTTP status.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.NotFound:
		return http.StatusNotFound
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.AlreadyExists, codes.FailedPrecondition:
		return http.StatusConflict
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unavailable, codes.DeadlineExceeded:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers err. Client errors carry ingest's message through (it
// names the offending field); server-side failures get a generic message
// and a log line, so internal details never reach the caller.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if he, ok := errors.AsType[*httpError](err); ok {
		writeEnvelope(w, he.status, false, he.message, nil)
		return
	}
	st := status.Convert(err)
	code := httpStatus(st.Code())
	fields := []zap.Field{
		zap.String("route", r.Pattern),
		zap.String("request_id", requestIDFrom(r.Context())),
		zap.String("grpc_code", st.Code().String()),
		zap.String("grpc_message", st.Message()),
	}
	msg := st.Message()
	if code == http.StatusTooManyRequests {
		if wait := retryAfter(st); wait != "" {
			w.Header().Set("Retry-After", wait)
		}
	}
	switch {
	case code == http.StatusServiceUnavailable:
		a.log.Warn("ingest unavailable", fields...)
		msg = msgUnavailable
	case code == http.StatusInternalServerError:
		a.log.Error("ingest call failed", fields...)
		msg = msgInternal
	case msg == "":
		msg = http.StatusText(code)
	}
	writeEnvelope(w, code, false, msg, nil)
}

// retryAfter is the wait ingest-service asked for, in whole seconds (at
// least 1), or "" when it gave none.
func retryAfter(st *status.Status) string {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			secs := int64(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds()))
			return strconv.FormatInt(max(secs, 1), 10)
		}
	}
	return ""
}
