package grpcapi

import (
	"context"

	"convoy/core/tracing"

	"google.golang.org/grpc/metadata"
)

// producerTrace is the producer's W3C trace context from the call's
// metadata, as it came: the gateway passes an HTTP producer's headers
// under keys of their own (the standard keys carry the gateway's span
// while tracing is on); a gRPC producer sends the standard keys. An
// invalid traceparent is ignored.
func producerTrace(ctx context.Context) (traceParent, traceState string) {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return "", ""
	}
	if p := first(md, tracing.MetadataProducerParent); p != "" {
		return tracing.Producer(p, first(md, tracing.MetadataProducerState))
	}
	return tracing.Producer(first(md, tracing.HeaderTraceParent), first(md, tracing.HeaderTraceState))
}

func first(md metadata.MD, key string) string {
	if vs := md.Get(key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}
