package devstack

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"convoy/core/embedded"
)

// Services are the four Convoy services, in start order. The binaries carry these names.
var Services = []string{"api-gateway", "ingest-service", "dispatcher-service", "scheduler-service"}

// Config is the dev stack's configuration, read from the environment.
type Config struct {
	// DataDir holds the embedded servers' data and the generated admin API key.
	DataDir string `env:"CONVOY_DATA_DIR" envDefault:"./.data"`
	// MongoURI, when set, is used instead of starting an embedded FerretDB.
	MongoURI string `env:"MONGODB_URI"`
	// NATSURL, when set, is used instead of starting an embedded NATS.
	NATSURL string `env:"NATS_URL"`
	// EmbeddedMongoAddr and EmbeddedNATSAddr are where the embedded servers listen; port 0
	// picks a free port.
	EmbeddedMongoAddr string `env:"CONVOY_EMBEDDED_MONGO_ADDR" envDefault:"127.0.0.1:27017"`
	EmbeddedNATSAddr  string `env:"CONVOY_EMBEDDED_NATS_ADDR" envDefault:"127.0.0.1:4222"`
	// NATSSync is the embedded NATS's JetStream sync setting: empty for the
	// server's default (every 2 minutes), "always", or a duration.
	NATSSync string `env:"CONVOY_NATS_SYNC_INTERVAL"`
	// AdminAPIKey, when unset, is generated once and kept in DataDir/admin-api-key.
	AdminAPIKey string `env:"CONVOY_ADMIN_API_KEY"`
	// BinDir holds the service binaries; default: the directory of the devstack executable.
	BinDir string `env:"CONVOY_BIN_DIR"`
	// ShutdownTimeout is how long services get between SIGTERM and SIGKILL.
	ShutdownTimeout time.Duration `env:"CONVOY_SHUTDOWN_TIMEOUT" envDefault:"20s"`
	// Services to run; default all four.
	Services []string `env:"CONVOY_DEVSTACK_SERVICES" envSeparator:","`

	// HTTPAddr and GRPCAddr are the services' own settings (the gateway's HTTP listener, the
	// ingest gRPC listener), read here only to print where the stack answers.
	HTTPAddr string `env:"CONVOY_HTTP_ADDR" envDefault:":5005"`
	GRPCAddr string `env:"CONVOY_GRPC_ADDR" envDefault:":5006"`
}

// LoadConfig reads the configuration from the environment and validates it.
func LoadConfig() (Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg.normalize()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// normalize trims the service list and turns an empty one into all services.
func (c *Config) normalize() {
	var svcs []string
	for _, s := range c.Services {
		if s = strings.TrimSpace(s); s != "" {
			svcs = append(svcs, s)
		}
	}
	if len(svcs) == 0 {
		svcs = slices.Clone(Services)
	}
	c.Services = svcs
}

// Validate reports every problem in the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("CONVOY_DATA_DIR must not be empty"))
	}
	if c.MongoURI == "" {
		if _, err := parseAddr(c.EmbeddedMongoAddr); err != nil {
			errs = append(errs, fmt.Errorf("CONVOY_EMBEDDED_MONGO_ADDR: %w", err))
		}
	}
	if c.NATSURL == "" {
		if _, err := parseAddr(c.EmbeddedNATSAddr); err != nil {
			errs = append(errs, fmt.Errorf("CONVOY_EMBEDDED_NATS_ADDR: %w", err))
		}
	}
	if c.NATSURL == "" {
		if _, _, err := embedded.ParseSync(c.NATSSync); err != nil {
			errs = append(errs, fmt.Errorf("CONVOY_NATS_SYNC_INTERVAL: %w", err))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("CONVOY_SHUTDOWN_TIMEOUT must be positive, got %s", c.ShutdownTimeout))
	}
	seen := map[string]bool{}
	for _, s := range c.Services {
		if !slices.Contains(Services, s) {
			errs = append(errs, fmt.Errorf("CONVOY_DEVSTACK_SERVICES: unknown service %q (known: %s)",
				s, strings.Join(Services, ", ")))
		}
		if seen[s] {
			errs = append(errs, fmt.Errorf("CONVOY_DEVSTACK_SERVICES: %q listed twice", s))
		}
		seen[s] = true
	}
	return errors.Join(errs...)
}

type hostPort struct {
	host string
	port int
}

func parseAddr(addr string) (hostPort, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return hostPort{}, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return hostPort{}, fmt.Errorf("invalid port %q", p)
	}
	return hostPort{host: host, port: port}, nil
}
