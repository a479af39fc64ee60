// Package envconf reads configuration from environment variables and
// collects every problem, so a service that will not start says everything
// that is wrong at once, naming each variable.
package envconf

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"convoy/core/secretbox"
)

// Reader reads variables and remembers the problems it met.
type Reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// New reads from the process environment.
func New() *Reader { return &Reader{lookup: os.LookupEnv} }

// FromMap reads from a map (for tests).
func FromMap(m map[string]string) *Reader {
	return &Reader{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// Fail records a problem found by the caller's own validation.
func (r *Reader) Fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

// Err returns every problem met, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// String returns the variable, or def when unset or empty.
func (r *Reader) String(key, def string) string {
	if v, ok := r.lookup(key); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// Int returns the variable as an integer within [lo, hi].
func (r *Reader) Int(key string, def, lo, hi int) int {
	v := r.String(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.Fail("%s=%q: want an integer from %d to %d", key, v, lo, hi)
		return def
	}
	return n
}

// Duration returns the variable as a positive Go duration ("30s", "2m").
func (r *Reader) Duration(key string, def time.Duration) time.Duration {
	v := r.String(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.Fail("%s=%q: want a positive duration such as 30s or 2m", key, v)
		return def
	}
	return d
}

// Bool returns the variable as a boolean.
func (r *Reader) Bool(key string, def bool) bool {
	v := r.String(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.Fail("%s=%q: want true or false", key, v)
		return def
	}
	return b
}

// OneOf returns the variable, which must be one of allowed.
func (r *Reader) OneOf(key, def string, allowed ...string) string {
	v := r.String(key, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.Fail("%s=%q: want one of %s", key, v, strings.Join(allowed, ", "))
	return def
}

// Process is the configuration every service shares, the gateway included:
// logging, the ops address and shutdown.
type Process struct {
	LogLevel     string
	LogFormat    string
	OpsAddr      string
	Profiling    bool
	ShutdownWait time.Duration
}

// ReadProcess reads the variables every service shares; opsAddr is the
// service's default address for /healthz, /readyz and /metrics.
func (r *Reader) ReadProcess(opsAddr string) Process {
	return Process{
		LogLevel:     r.OneOf("CONVOY_LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		LogFormat:    r.OneOf("CONVOY_LOG_FORMAT", "json", "json", "console"),
		OpsAddr:      r.String("CONVOY_OPS_ADDR", opsAddr),
		Profiling:    r.Bool("CONVOY_PPROF", false),
		ShutdownWait: r.Duration("CONVOY_SHUTDOWN_TIMEOUT", 15*time.Second),
	}
}

// Common is the configuration every backend service shares.
type Common struct {
	Process
	MongoURI      string
	MongoDatabase string
	// EmbeddedSQLiteDir is the embedded FerretDB's SQLite folder when the
	// store is that FerretDB and its files are on this machine (make run
	// sets it): lists, sweeps and retention then read its indexes there.
	EmbeddedSQLiteDir string
	NATSURL           string
	NATSReplicas      int
	// Keyring seals the stored secrets; nil when no key is configured
	// (they are then stored in plain text, and a service refuses to start
	// once the store holds sealed ones).
	Keyring *secretbox.Keyring
}

// ReadCommon reads the shared variables; opsAddr is the service's default
// address for /healthz, /readyz and /metrics.
func (r *Reader) ReadCommon(opsAddr string) Common {
	return Common{
		Process:           r.ReadProcess(opsAddr),
		MongoURI:          r.String("MONGODB_URI", "mongodb://127.0.0.1:27017/"),
		MongoDatabase:     r.String("CONVOY_MONGODB_DATABASE", "convoy"),
		EmbeddedSQLiteDir: r.String("CONVOY_EMBEDDED_SQLITE_DIR", ""),
		NATSURL:           r.String("NATS_URL", "nats://127.0.0.1:4222"),
		NATSReplicas:      r.Int("CONVOY_NATS_REPLICAS", 1, 1, 5),
		Keyring:           r.Keyring(),
	}
}

// Keyring reads the encryption keys from CONVOY_ENCRYPTION_KEYS or the file
// CONVOY_ENCRYPTION_KEY_FILE names (`id:base64key,...`, the first seals):
// nil when neither is set.
func (r *Reader) Keyring() *secretbox.Keyring {
	inline, file := r.String("CONVOY_ENCRYPTION_KEYS", ""), r.String("CONVOY_ENCRYPTION_KEY_FILE", "")
	var (
		kr  *secretbox.Keyring
		err error
		key = "CONVOY_ENCRYPTION_KEYS"
	)
	switch {
	case inline != "" && file != "":
		r.Fail("CONVOY_ENCRYPTION_KEYS and CONVOY_ENCRYPTION_KEY_FILE are both set: set one")
		return nil
	case inline != "":
		kr, err = secretbox.Parse(inline)
	case file != "":
		key = "CONVOY_ENCRYPTION_KEY_FILE=" + file
		kr, err = secretbox.ParseFile(file)
	default:
		return nil
	}
	if err != nil {
		// The message names the key ids, never the key material.
		r.Fail("%s: %s", key, strings.ReplaceAll(err.Error(), "\n", "; "))
		return nil
	}
	return kr
}
