package devstack

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"convoy/core/secretbox"
)

// unsetEnv clears variables for one test and restores them afterwards.
func unsetEnv(t *testing.T, keys ...string) {
	for _, k := range keys {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	unsetEnv(t, "CONVOY_DATA_DIR", "MONGODB_URI", "NATS_URL", "CONVOY_EMBEDDED_MONGO_ADDR",
		"CONVOY_EMBEDDED_NATS_ADDR", "CONVOY_ADMIN_API_KEY", "CONVOY_BIN_DIR", "CONVOY_SHUTDOWN_TIMEOUT",
		"CONVOY_DEVSTACK_SERVICES", "CONVOY_HTTP_ADDR", "CONVOY_GRPC_ADDR")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DataDir: "./.data", EmbeddedMongoAddr: "127.0.0.1:27017", EmbeddedNATSAddr: "127.0.0.1:4222",
		ShutdownTimeout: 20 * time.Second, Services: Services, HTTPAddr: ":5005", GRPCAddr: ":5006",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
}

func TestLoadConfigServicesSubset(t *testing.T) {
	t.Setenv("CONVOY_DEVSTACK_SERVICES", " ingest-service, dispatcher-service ,")
	t.Setenv("CONVOY_SHUTDOWN_TIMEOUT", "3s")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Services, []string{"ingest-service", "dispatcher-service"}) || cfg.ShutdownTimeout != 3*time.Second {
		t.Fatalf("got %+v", cfg)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{
		DataDir: "", EmbeddedMongoAddr: "nope", EmbeddedNATSAddr: "127.0.0.1:99999",
		ShutdownTimeout: 0, Services: []string{"api-gateway", "api-gateway", "billing"},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"CONVOY_DATA_DIR", "CONVOY_EMBEDDED_MONGO_ADDR", "CONVOY_EMBEDDED_NATS_ADDR",
		"CONVOY_SHUTDOWN_TIMEOUT", `"api-gateway" listed twice`, `unknown service "billing"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}

	// External servers make the embedded addresses irrelevant.
	cfg = Config{DataDir: "d", MongoURI: "mongodb://db", NATSURL: "nats://mq", EmbeddedMongoAddr: "x",
		ShutdownTimeout: time.Second, Services: Services}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("with external servers: %v", err)
	}
}

func TestServiceEnv(t *testing.T) {
	base := []string{"PATH=/bin", "MONGODB_URI=old", "CONVOY_LOG_FORMAT=json"}
	tests := []struct {
		name    string
		service string
		base    []string
		want    []string
		absent  []string
	}{
		{
			name: "gateway", service: "api-gateway", base: base,
			want: []string{"PATH=/bin", "MONGODB_URI=mongodb://m", "NATS_URL=nats://n",
				"CONVOY_ADMIN_API_KEY=k", "CONVOY_LOG_FORMAT=json"},
			absent: []string{"MONGODB_URI=old", "CONVOY_DISPATCH_ALLOW_CIDRS=" + localCIDRs},
		},
		{
			name: "dispatcher gets local CIDRs", service: "dispatcher-service", base: []string{"PATH=/bin"},
			want: []string{"CONVOY_LOG_FORMAT=console", "CONVOY_DISPATCH_ALLOW_CIDRS=" + localCIDRs},
		},
		{
			name: "dispatcher keeps explicit CIDRs", service: "dispatcher-service",
			base:   []string{"CONVOY_DISPATCH_ALLOW_CIDRS=10.0.0.0/8"},
			want:   []string{"CONVOY_DISPATCH_ALLOW_CIDRS=10.0.0.0/8"},
			absent: []string{"CONVOY_DISPATCH_ALLOW_CIDRS=" + localCIDRs},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := serviceEnv(tt.base, tt.service, "mongodb://m", "nats://n", "k")
			for _, kv := range tt.want {
				if !slices.Contains(env, kv) {
					t.Errorf("missing %s in %v", kv, env)
				}
			}
			for _, kv := range tt.absent {
				if slices.Contains(env, kv) {
					t.Errorf("unexpected %s in %v", kv, env)
				}
			}
		})
	}
}

func TestResolveAdminKey(t *testing.T) {
	dir := t.TempDir()
	key, src, err := resolveAdminKey("", dir)
	if err != nil || src != keyGenerated {
		t.Fatalf("first start: %q, %v, %v", key, src, err)
	}
	if !strings.HasPrefix(key, adminKeyPrefix) || len(key) != len(adminKeyPrefix)+43 {
		t.Fatalf("generated key %q: want the prefix and 32 bytes of base64url", key)
	}
	fi, err := os.Stat(filepath.Join(dir, adminKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}

	again, src, err := resolveAdminKey("", dir)
	if err != nil || src != keyFromFile || again != key {
		t.Fatalf("second start: %q (%v, %v), want the saved key", again, src, err)
	}

	chosen, src, err := resolveAdminKey("mine", dir)
	if err != nil || src != keyFromEnv || chosen != "mine" {
		t.Fatalf("configured key: %q, %v, %v", chosen, src, err)
	}

	other, _, _ := resolveAdminKey("", t.TempDir())
	if other == key {
		t.Fatal("two data dirs got the same key")
	}
}

func TestServiceSpecsReportsMissingBinaries(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api-gateway"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := serviceSpecs(dir, Services)
	if err == nil || !strings.Contains(err.Error(), "ingest-service, dispatcher-service, scheduler-service") ||
		strings.Contains(err.Error(), "api-gateway") {
		t.Fatalf("err = %v", err)
	}
	specs, err := serviceSpecs(dir, []string{"api-gateway"})
	if err != nil || len(specs) != 1 || specs[0].Path != filepath.Join(dir, "api-gateway") {
		t.Fatalf("specs = %+v, %v", specs, err)
	}
}

func TestRedactURLs(t *testing.T) {
	got := redactURLs("mongodb://u:secret@db:27017/,nats://n:4222")
	if strings.Contains(got, "secret") || !strings.Contains(got, "db:27017") || !strings.Contains(got, "nats://n:4222") {
		t.Fatalf("got %q", got)
	}
}

func TestDialAddr(t *testing.T) {
	for in, want := range map[string]string{
		":5005":          "localhost:5005",
		"0.0.0.0:5005":   "localhost:5005",
		"[::]:5006":      "localhost:5006",
		"127.0.0.1:1505": "127.0.0.1:1505",
		"example:80":     "example:80",
	} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveEncryptionKeys(t *testing.T) {
	dir := t.TempDir()
	path, src, err := resolveEncryptionKeys([]string{"PATH=/bin", "CONVOY_ENCRYPTION_KEYS="}, dir)
	if err != nil || src != keyGenerated || path != filepath.Join(dir, encryptionKeyFile) {
		t.Fatalf("first start: %q, %v, %v", path, src, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	kr, err := secretbox.ParseFile(path)
	if err != nil || kr.ActiveID() == "" {
		t.Fatalf("generated key file does not parse: %v", err)
	}
	before, _ := os.ReadFile(path)

	again, src, err := resolveEncryptionKeys(nil, dir)
	after, _ := os.ReadFile(path)
	if err != nil || src != keyFromFile || again != path || string(after) != string(before) {
		t.Fatalf("second start: %q (%v, %v), want the saved file unchanged", again, src, err)
	}
	for _, kv := range []string{"CONVOY_ENCRYPTION_KEYS=a:b", "CONVOY_ENCRYPTION_KEY_FILE=/etc/keys"} {
		if p, src, err := resolveEncryptionKeys([]string{kv}, dir); err != nil || src != keyFromEnv || p != "" {
			t.Errorf("%s: %q, %v, %v; want the environment's choice", kv, p, src, err)
		}
	}
}
