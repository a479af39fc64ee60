package config

import (
	"strings"
	"testing"
	"time"
)

func lookupFrom(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string
	}{
		{
			name: "defaults",
			env:  map[string]string{},
			want: Default(),
		},
		{
			name: "empty values keep defaults",
			env:  map[string]string{EnvHTTPAddr: "", EnvMaxBodyBytes: ""},
			want: Default(),
		},
		{
			name: "every variable set",
			env: map[string]string{
				EnvHTTPAddr:        "127.0.0.1:8080",
				EnvIngestAddr:      "ingest:5006",
				EnvMaxBodyBytes:    "2048",
				EnvLogLevel:        "debug",
				EnvLogFormat:       "console",
				EnvShutdownTimeout: "3s",
			},
			want: Config{
				HTTPAddr:        "127.0.0.1:8080",
				IngestAddr:      "ingest:5006",
				MaxBodyBytes:    2048,
				LogLevel:        "debug",
				LogFormat:       "console",
				ShutdownTimeout: 3 * time.Second,
			},
		},
		{
			name: "every problem reported at once",
			env: map[string]string{
				EnvHTTPAddr:        "no-port",
				EnvMaxBodyBytes:    "lots",
				EnvLogLevel:        "verbose",
				EnvLogFormat:       "xml",
				EnvShutdownTimeout: "soon",
			},
			wantErr: []string{EnvHTTPAddr, EnvMaxBodyBytes, EnvLogLevel, EnvLogFormat, EnvShutdownTimeout},
		},
		{
			name:    "non-positive numbers",
			env:     map[string]string{EnvMaxBodyBytes: "0", EnvShutdownTimeout: "-1s"},
			wantErr: []string{EnvMaxBodyBytes, EnvShutdownTimeout},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(lookupFrom(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if got != tt.want {
					t.Fatalf("Load = %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load: no error, want one naming %v", tt.wantErr)
			}
			for _, name := range tt.wantErr {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
		})
	}
}
