package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds how long a freshly started server may take to accept connections.
const readyTimeout = 10 * time.Second

// NATSOptions configures an embedded NATS server.
type NATSOptions struct {
	// Dir is where JetStream keeps its data (the server creates a "jetstream" folder in it).
	// Required: a server started again on the same Dir finds its streams and messages.
	Dir string
	// Host to listen on; default 127.0.0.1.
	Host string
	// Port to listen on; -1 picks a free port, 0 means the NATS default 4222.
	Port int
	// Logger receives the server's log; nil turns logging off.
	Logger *slog.Logger
	// Sync is how JetStream's file store syncs to disk: "" for the server's
	// default (every 2 minutes: acknowledged messages survive a process
	// crash, not an OS crash or power loss), "always" to sync every write
	// before acknowledging it, or a Go duration for that interval
	// (ParseSync checks a value).
	Sync string

	// cluster settings, only set by StartNATSCluster.
	serverName string
	cluster    server.ClusterOpts
	routes     []*url.URL
}

// NATS is a running embedded NATS server with JetStream.
type NATS struct {
	srv *server.Server
}

// StartNATS starts a NATS server with JetStream in this process and waits until it accepts connections.
func StartNATS(opts NATSOptions) (*NATS, error) {
	if opts.Dir == "" {
		return nil, errors.New("start nats: Dir is required")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}

	sopts := &server.Options{
		ServerName: opts.serverName,
		Host:       host,
		Port:       opts.Port,
		JetStream:  true,
		StoreDir:   opts.Dir,
		// The embedding process owns signal handling (Ctrl-C in the dev stack, the test runner in tests).
		NoSigs: true,
		NoLog:  opts.Logger == nil,
	}
	interval, always, err := ParseSync(opts.Sync)
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	sopts.SyncInterval, sopts.SyncAlways = interval, always
	if opts.cluster.Name != "" {
		sopts.Cluster = opts.cluster
		sopts.Routes = opts.routes
	}

	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	// The logger is installed even when logging is off: a fatal error (the port is taken, say)
	// is only reported through it, and StartNATS should fail with it at once.
	logger := natsLogger{l: opts.Logger, fatal: make(chan string, 1)}
	srv.SetLoggerV2(logger, false, false, false)
	go srv.Start()

	ready := make(chan bool, 1)
	go func() { ready <- srv.ReadyForConnections(readyTimeout) }()
	select {
	case ok := <-ready:
		if ok {
			return &NATS{srv: srv}, nil
		}
		err = fmt.Errorf("start nats: not ready for connections after %s", readyTimeout)
	case msg := <-logger.fatal:
		err = fmt.Errorf("start nats: %s", msg)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	return nil, err
}

// ParseSync reads a JetStream sync setting: "" (the server's default),
// "always", or a positive Go duration.
func ParseSync(v string) (interval time.Duration, always bool, err error) {
	switch v {
	case "":
		return 0, false, nil
	case "always":
		return 0, true, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, false, fmt.Errorf("sync %q: want always or a positive duration such as 1s", v)
	}
	return d, false, nil
}

// URL returns the client URL, e.g. nats://127.0.0.1:4222.
func (n *NATS) URL() string { return n.srv.ClientURL() }

// Server returns the underlying server, for tests that need to inspect JetStream state.
func (n *NATS) Server() *server.Server { return n.srv }

// Shutdown stops the server gracefully and returns once it has fully stopped.
func (n *NATS) Shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// natsLogger adapts slog to the server's Logger interface; a nil slog.Logger discards. NATS
// notices are routine (startup banner, connections), so they map to Info. Fatal errors never
// exit the process: they are logged and handed to StartNATS.
type natsLogger struct {
	l     *slog.Logger
	fatal chan string
}

func (g natsLogger) log(level slog.Level, format string, v []any) {
	if g.l != nil {
		g.l.Log(context.Background(), level, fmt.Sprintf(format, v...))
	}
}

func (g natsLogger) Noticef(format string, v ...any) { g.log(slog.LevelInfo, format, v) }
func (g natsLogger) Warnf(format string, v ...any)   { g.log(slog.LevelWarn, format, v) }
func (g natsLogger) Errorf(format string, v ...any)  { g.log(slog.LevelError, format, v) }
func (g natsLogger) Debugf(format string, v ...any)  { g.log(slog.LevelDebug, format, v) }
func (g natsLogger) Tracef(format string, v ...any)  { g.log(slog.LevelDebug, format, v) }

func (g natsLogger) Fatalf(format string, v ...any) {
	g.log(slog.LevelError, format, v)
	select {
	case g.fatal <- fmt.Sprintf(format, v...):
	default:
	}
}
