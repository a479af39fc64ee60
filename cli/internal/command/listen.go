package command

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"

	"convoy/cli/internal/listen"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

func runListen(ctx context.Context, s streams, args []string) error {
	f := newFlags(s, "listen", "listen --endpoint <id> --forward-to http://localhost:3000/webhooks [flags]")
	endpoint := f.str("endpoint", "CONVOY_ENDPOINT_ID", "", "the endpoint whose deliveries are forwarded")
	forward := f.str("forward-to", "CONVOY_FORWARD_TO", "", "the local URL every delivery is posted to")
	cursor := f.str("cursor", "CONVOY_LISTEN_CURSOR", "", "resume from a cursor printed by an earlier run: what is not yet successful since then is sent again")
	g := grpcFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("endpoint", "forward-to", "api-key"); err != nil {
		return err
	}
	if u, err := url.Parse(*forward); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--forward-to %q: want an http(s) URL", *forward)
	}
	conn, err := g.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	l := listen.New(ingestv1.NewIngestServiceClient(conn), listen.Options{
		GroupID: *g.group, EndpointID: *endpoint, ForwardTo: *forward, Cursor: *cursor, Out: s.out,
	})
	return l.Run(ctx)
}

// grpcConfig are the flags of a command that talks to ingest-service.
type grpcConfig struct {
	addr, key, group *string
	tls              *bool
}

func grpcFlags(f *flags) grpcConfig {
	c := grpcConfig{
		addr:  f.str("grpc-addr", "CONVOY_GRPC_ADDR", "127.0.0.1:5006", "ingest-service's gRPC address"),
		key:   f.str("api-key", "CONVOY_API_KEY", "", "an API key of the group (or the admin key)"),
		group: f.str("group", "CONVOY_GROUP_ID", "", "the group; may be left empty with a group API key"),
		tls:   f.Bool("grpc-tls", false, "connect to ingest-service over TLS"),
	}
	f.envOf["grpc-tls"] = "CONVOY_GRPC_TLS"
	return c
}

func (c grpcConfig) dial() (*grpc.ClientConn, error) {
	tc := insecure.NewCredentials()
	if *c.tls {
		tc = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(*c.addr, grpc.WithTransportCredentials(tc),
		grpc.WithPerRPCCredentials(bearer{key: *c.key, secure: *c.tls}))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", *c.addr, err)
	}
	return conn, nil
}

// bearer sends the API key on every call.
type bearer struct {
	key    string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.key}, nil
}

// RequireTransportSecurity is false so that a local stack works without
// TLS; --grpc-tls is for anything else.
func (b bearer) RequireTransportSecurity() bool { return false }
