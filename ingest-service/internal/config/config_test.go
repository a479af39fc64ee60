package config

import (
	"strings"
	"testing"

	"convoy/core/envconf"
)

func TestAdminKeyIsRequired(t *testing.T) {
	_, err := read(envconf.FromMap(map[string]string{}))
	if err == nil || !strings.Contains(err.Error(), "CONVOY_ADMIN_API_KEY") {
		t.Fatalf("got %v, want an error naming CONVOY_ADMIN_API_KEY", err)
	}
	c, err := read(envconf.FromMap(map[string]string{"CONVOY_ADMIN_API_KEY": "0123456789abcdef", "CONVOY_GRPC_ADDR": ":7000"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.GRPCAddr != ":7000" || c.OpsAddr != ":5007" {
		t.Fatalf("config %+v", c)
	}
}

func TestAPIRateLimit(t *testing.T) {
	c, err := read(envconf.FromMap(map[string]string{"CONVOY_ADMIN_API_KEY": "0123456789abcdef"}))
	if err != nil || c.APIRateLimit != 0 {
		t.Fatalf("default: %d, %v; want 0 (off)", c.APIRateLimit, err)
	}
	c, err = read(envconf.FromMap(map[string]string{"CONVOY_ADMIN_API_KEY": "0123456789abcdef", "CONVOY_API_RATE_LIMIT": "50"}))
	if err != nil || c.APIRateLimit != 50 {
		t.Fatalf("set: %d, %v; want 50", c.APIRateLimit, err)
	}
	_, err = read(envconf.FromMap(map[string]string{"CONVOY_ADMIN_API_KEY": "0123456789abcdef", "CONVOY_API_RATE_LIMIT": "-1"}))
	if err == nil || !strings.Contains(err.Error(), "CONVOY_API_RATE_LIMIT") {
		t.Fatalf("negative: %v, want an error naming CONVOY_API_RATE_LIMIT", err)
	}
}
