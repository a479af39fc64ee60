// Package devstack runs Convoy's local stack: an embedded FerretDB and NATS (unless MONGODB_URI
// and NATS_URL point at real ones) and the four services as supervised child processes.
package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"convoy/core/embedded"
	"convoy/deploy/internal/supervise"
)

// localCIDRs lets the dispatcher deliver to receivers on this machine, which it refuses by
// default to protect real deployments from SSRF.
const localCIDRs = "127.0.0.0/8,::1/128"

// ownName prefixes the dev stack's own output.
const ownName = "devstack"

// PrefixWidth is the width output prefixes are padded to: the longest source name.
func PrefixWidth() int {
	w := len(ownName)
	for _, s := range Services {
		w = max(w, len(s))
	}
	return w
}

// NewLogger returns the dev stack's console logger writing to w.
func NewLogger(w zapcore.WriteSyncer) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(w), zapcore.InfoLevel))
}

// Run starts the stack and blocks until ctx is done; then it stops the services (SIGTERM, then
// SIGKILL after cfg.ShutdownTimeout) and the embedded servers. It returns nil after a clean stop.
func Run(ctx context.Context, cfg Config, out *supervise.Output, log *zap.Logger) error {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	binDir, err := resolveBinDir(cfg.BinDir)
	if err != nil {
		return err
	}
	specs, err := serviceSpecs(binDir, cfg.Services)
	if err != nil {
		return err
	}
	adminKey, keySrc, err := resolveAdminKey(cfg.AdminAPIKey, dataDir)
	if err != nil {
		return err
	}

	base := os.Environ()
	keyFile, keyFileSrc, err := resolveEncryptionKeys(base, dataDir)
	if err != nil {
		return err
	}

	b := banner{
		gateway: "http://" + dialAddr(cfg.HTTPAddr), grpc: dialAddr(cfg.GRPCAddr),
		dataDir: dataDir, services: cfg.Services, adminKey: adminKey, keySrc: keySrc,
		encryptionKeys: keyFile, encryptionKeysSrc: keyFileSrc,
	}
	mongoURI, sqliteDir := cfg.MongoURI, ""
	if mongoURI == "" {
		f, err := startFerretDB(ctx, filepath.Join(dataDir, "ferretdb"), cfg.EmbeddedMongoAddr, out)
		if err != nil {
			return err
		}
		defer func() {
			f.Close()
			log.Info("embedded FerretDB stopped")
		}()
		mongoURI, sqliteDir = f.URI(), f.Dir()
		b.mongo = mongoURI + "  (embedded FerretDB)"
	} else {
		log.Info("using MONGODB_URI; not starting the embedded FerretDB")
		b.mongo = redactURLs(mongoURI) + "  (from MONGODB_URI)"
	}
	natsURL := cfg.NATSURL
	if natsURL == "" {
		n, err := startNATS(filepath.Join(dataDir, "nats"), cfg.EmbeddedNATSAddr, cfg.NATSSync, out)
		if err != nil {
			return err
		}
		defer func() {
			n.Shutdown()
			log.Info("embedded NATS stopped")
		}()
		natsURL = n.URL()
		b.nats = natsURL + "  (embedded, JetStream" + syncLabel(cfg.NATSSync) + ")"
	} else {
		log.Info("using NATS_URL; not starting the embedded NATS")
		b.nats = redactURLs(natsURL) + "  (from NATS_URL)"
	}

	for i := range specs {
		specs[i].Env = serviceEnv(base, specs[i].Name, mongoURI, natsURL, adminKey)
		if keyFile != "" {
			specs[i].Env = setEnv(specs[i].Env, "CONVOY_ENCRYPTION_KEY_FILE", keyFile)
		}
		if sqliteDir != "" {
			// The services read the list indexes straight from its files.
			specs[i].Env = setEnv(specs[i].Env, "CONVOY_EMBEDDED_SQLITE_DIR", sqliteDir)
		}
	}
	sup := supervise.New(out, log.Named("supervise"), supervise.Options{ShutdownTimeout: cfg.ShutdownTimeout})
	if err := sup.Start(ctx, specs...); err != nil {
		return err
	}
	_, _ = io.WriteString(out.Writer(ownName), b.String())

	sup.Wait()
	log.Info("services stopped")
	return nil
}

func resolveBinDir(configured string) (string, error) {
	if configured != "" {
		return filepath.Abs(configured)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find service binaries: %w (set CONVOY_BIN_DIR)", err)
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Dir(exe), nil
}

// serviceSpecs checks that every service binary is there before anything starts.
func serviceSpecs(binDir string, services []string) ([]supervise.Spec, error) {
	specs := make([]supervise.Spec, 0, len(services))
	var missing []string
	for _, name := range services {
		path := filepath.Join(binDir, name)
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			missing = append(missing, name)
			continue
		}
		specs = append(specs, supervise.Spec{Name: name, Path: path})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("service binaries missing in %s: %s (run `make build`, or set CONVOY_BIN_DIR)",
			binDir, strings.Join(missing, ", "))
	}
	return specs, nil
}

// serviceEnv is the environment of one service: the dev stack's own, plus where the stores are,
// the admin key, and local-development defaults that an explicit setting overrides.
func serviceEnv(base []string, service, mongoURI, natsURL, adminKey string) []string {
	env := slices.Clone(base)
	env = setEnv(env, "MONGODB_URI", mongoURI)
	env = setEnv(env, "NATS_URL", natsURL)
	env = setEnv(env, "CONVOY_ADMIN_API_KEY", adminKey)
	env = defaultEnv(env, "CONVOY_LOG_FORMAT", "console")
	if service == "dispatcher-service" {
		env = defaultEnv(env, "CONVOY_DISPATCH_ALLOW_CIDRS", localCIDRs)
	}
	return env
}

func setEnv(env []string, key, value string) []string {
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
	return append(env, key+"="+value)
}

// defaultEnv sets key unless it is present, even if empty.
func defaultEnv(env []string, key, value string) []string {
	if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") }) {
		return env
	}
	return append(env, key+"="+value)
}

func startFerretDB(ctx context.Context, dir, addr string, out *supervise.Output) (*embedded.FerretDB, error) {
	// FerretDB logs every failed command (a duplicate key, say) as a warning: errors only.
	logger := embedded.QuietLogger(out.Writer("ferretdb"), slog.LevelError)
	f, err := embedded.StartFerretDB(ctx, embedded.FerretOptions{Dir: dir, Addr: addr, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("%w (set CONVOY_EMBEDDED_MONGO_ADDR, or MONGODB_URI to use another server)", err)
	}
	return f, nil
}

func startNATS(dir, addr, sync string, out *supervise.Output) (*embedded.NATS, error) {
	hp, err := parseAddr(addr)
	if err != nil {
		return nil, fmt.Errorf("CONVOY_EMBEDDED_NATS_ADDR: %w", err)
	}
	port := hp.port
	if port == 0 {
		port = -1 // NATS reads 0 as its default port; here it means any free port
	}
	logger := slog.New(slog.NewTextHandler(out.Writer("nats"), &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := embedded.StartNATS(embedded.NATSOptions{Dir: dir, Host: hp.host, Port: port, Logger: logger, Sync: sync})
	if err != nil {
		return nil, fmt.Errorf("%w (set CONVOY_EMBEDDED_NATS_ADDR, or NATS_URL to use another server)", err)
	}
	return n, nil
}

// syncLabel says when the embedded NATS syncs to disk, unless it is the default.
func syncLabel(v string) string {
	if v == "" {
		return ""
	}
	return ", sync " + v
}

// redactURLs hides passwords in a comma-separated URL list before it is printed.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil {
			parts[i] = u.Redacted()
		} else {
			parts[i] = "(unparsable URL)"
		}
	}
	return strings.Join(parts, ",")
}

// dialAddr turns a listen address into one to connect to: a wildcard or empty host becomes
// localhost.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// banner is what the dev stack prints once the services are started.
type banner struct {
	gateway, grpc        string
	dataDir, mongo, nats string
	services             []string
	adminKey             string
	keySrc               keySource
	// encryptionKeys is the key file the services read ("" when the
	// environment names the keys).
	encryptionKeys    string
	encryptionKeysSrc keySource
}

func (b banner) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "Convoy local stack is up (Ctrl-C stops it)\n")
	fmt.Fprintf(&s, "  gateway    %s\n", b.gateway)
	fmt.Fprintf(&s, "  gRPC       %s\n", b.grpc)
	fmt.Fprintf(&s, "  data dir   %s\n", b.dataDir)
	fmt.Fprintf(&s, "  MongoDB    %s\n", b.mongo)
	fmt.Fprintf(&s, "  NATS       %s\n", b.nats)
	fmt.Fprintf(&s, "  services   %s\n", strings.Join(b.services, ", "))
	switch b.keySrc {
	case keyFromEnv:
		fmt.Fprintf(&s, "admin API key: from CONVOY_ADMIN_API_KEY\n")
	default:
		fmt.Fprintf(&s, "admin API key: %s  (set CONVOY_ADMIN_API_KEY to choose your own)\n", b.adminKey)
	}
	switch b.encryptionKeysSrc {
	case keyFromEnv:
		fmt.Fprintf(&s, "secrets encrypted with: CONVOY_ENCRYPTION_KEYS or CONVOY_ENCRYPTION_KEY_FILE\n")
	default:
		fmt.Fprintf(&s, "secrets encrypted with: the keys in %s  (keep this file with the data)\n", b.encryptionKeys)
	}
	return s.String()
}
