// Package config reads the api-gateway settings from CONVOY_* environment
// variables, applies defaults and reports every invalid value at once.
package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Environment variable names.
const (
	EnvHTTPAddr        = "CONVOY_HTTP_ADDR"
	EnvIngestAddr      = "CONVOY_INGEST_ADDR"
	EnvMaxBodyBytes    = "CONVOY_MAX_BODY_BYTES"
	EnvLogLevel        = "CONVOY_LOG_LEVEL"
	EnvLogFormat       = "CONVOY_LOG_FORMAT"
	EnvShutdownTimeout = "CONVOY_SHUTDOWN_TIMEOUT"
)

// Config is everything the gateway needs to start.
type Config struct {
	// HTTPAddr is the host:port the HTTP API listens on.
	HTTPAddr string
	// IngestAddr is the gRPC target of ingest-service.
	IngestAddr string
	// MaxBodyBytes caps request bodies; larger ones are answered 413.
	MaxBodyBytes int64
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is json or console.
	LogFormat string
	// ShutdownTimeout bounds how long in-flight requests may drain on stop.
	ShutdownTimeout time.Duration
}

// Default returns the configuration used when no variable is set.
func Default() Config {
	return Config{
		HTTPAddr:        ":5005",
		IngestAddr:      "127.0.0.1:5006",
		MaxBodyBytes:    1 << 20,
		LogLevel:        "info",
		LogFormat:       "json",
		ShutdownTimeout: 15 * time.Second,
	}
}

// Load builds a Config from lookup (os.LookupEnv in production). Unset or
// empty variables keep their defaults. The error lists every variable that
// could not be parsed or failed validation.
func Load(lookup func(string) (string, bool)) (Config, error) {
	cfg := Default()
	var errs []error
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		return v, ok && v != ""
	}
	if v, ok := get(EnvHTTPAddr); ok {
		cfg.HTTPAddr = v
	}
	if v, ok := get(EnvIngestAddr); ok {
		cfg.IngestAddr = v
	}
	if v, ok := get(EnvMaxBodyBytes); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not an integer number of bytes", EnvMaxBodyBytes, v))
		} else {
			cfg.MaxBodyBytes = n
		}
	}
	if v, ok := get(EnvLogLevel); ok {
		cfg.LogLevel = v
	}
	if v, ok := get(EnvLogFormat); ok {
		cfg.LogFormat = v
	}
	if v, ok := get(EnvShutdownTimeout); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration such as 15s", EnvShutdownTimeout, v))
		} else {
			cfg.ShutdownTimeout = d
		}
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// Validate reports every invalid field, each naming its variable.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("%s: %q is not a host:port address", EnvHTTPAddr, c.HTTPAddr))
	}
	if c.IngestAddr == "" {
		errs = append(errs, fmt.Errorf("%s: must not be empty", EnvIngestAddr))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("%s: must be a positive number of bytes, got %d", EnvMaxBodyBytes, c.MaxBodyBytes))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("%s: %q is not one of debug, info, warn, error", EnvLogLevel, c.LogLevel))
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		errs = append(errs, fmt.Errorf("%s: %q is not one of json, console", EnvLogFormat, c.LogFormat))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("%s: must be a positive duration, got %s", EnvShutdownTimeout, c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}
