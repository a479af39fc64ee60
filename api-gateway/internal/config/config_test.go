package config

import (
	"strings"
	"testing"
	"time"

	"convoy/core/envconf"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(Config) bool
		wantErr []string
	}{
		{
			name: "defaults",
			env:  map[string]string{},
			check: func(c Config) bool {
				return c.HTTPAddr == ":5005" && c.OpsAddr == ":5010" && c.IngestAddr == "127.0.0.1:5006" &&
					c.MaxBodyBytes == 1<<20 && c.LogFormat == "json" && c.ShutdownWait == 15*time.Second
			},
		},
		{
			name: "empty values keep defaults",
			env:  map[string]string{"CONVOY_HTTP_ADDR": "", "CONVOY_MAX_BODY_BYTES": ""},
			check: func(c Config) bool {
				return c.HTTPAddr == ":5005" && c.MaxBodyBytes == 1<<20
			},
		},
		{
			name: "every variable set",
			env: map[string]string{
				"CONVOY_HTTP_ADDR": "127.0.0.1:8080", "CONVOY_OPS_ADDR": "127.0.0.1:9090",
				"CONVOY_INGEST_ADDR": "ingest:5006", "CONVOY_MAX_BODY_BYTES": "2048",
				"CONVOY_LOG_LEVEL": "debug", "CONVOY_LOG_FORMAT": "console", "CONVOY_SHUTDOWN_TIMEOUT": "3s",
				"CONVOY_PPROF": "true", "CONVOY_PUBLIC_URL": "https://convoy.example.com",
			},
			check: func(c Config) bool {
				return c.HTTPAddr == "127.0.0.1:8080" && c.OpsAddr == "127.0.0.1:9090" && c.IngestAddr == "ingest:5006" &&
					c.MaxBodyBytes == 2048 && c.LogLevel == "debug" && c.LogFormat == "console" &&
					c.ShutdownWait == 3*time.Second && c.Profiling && c.PublicURL == "https://convoy.example.com"
			},
		},
		{
			name: "every problem at once",
			env: map[string]string{
				"CONVOY_HTTP_ADDR": "nope", "CONVOY_OPS_ADDR": "also-nope", "CONVOY_MAX_BODY_BYTES": "-1",
				"CONVOY_LOG_LEVEL": "loud", "CONVOY_LOG_FORMAT": "xml", "CONVOY_SHUTDOWN_TIMEOUT": "soon",
				"CONVOY_PUBLIC_URL": "convoy.example.com",
			},
			wantErr: []string{"CONVOY_HTTP_ADDR", "CONVOY_OPS_ADDR", "CONVOY_MAX_BODY_BYTES", "CONVOY_LOG_LEVEL",
				"CONVOY_LOG_FORMAT", "CONVOY_SHUTDOWN_TIMEOUT", "CONVOY_PUBLIC_URL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := read(envconf.FromMap(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if !tt.check(c) {
					t.Fatalf("config %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}
