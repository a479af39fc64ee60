package bench

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := ParseFlags("bench", []string{"-sustained", "15s", "-rate", "200", "-keep", "-history", "5000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SustainedDuration != 15*time.Second || c.FixedRate != 200 || !c.Keep || c.History != 5000 || c.Producers != 64 {
		t.Fatalf("got %+v", c)
	}
	if _, err := ParseFlags("bench", []string{"extra"}, io.Discard); err == nil {
		t.Fatal("positional argument accepted")
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Producers, c.FixedRate, c.RawDuration, c.Budget, c.MaxBacklog, c.BinDir = 0, 0, 0, -time.Second, -1, ""
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"-producers", "-rate", "-raw", "-budget", "-max-backlog", "-bin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestStackEnv(t *testing.T) {
	base := []string{"PATH=/bin", "MONGODB_URI=mongodb://elsewhere", "NATS_URL=nats://elsewhere",
		"CONVOY_LOG_LEVEL=debug", "CONVOY_DEVSTACK_SERVICES=api-gateway", "HOME=/root"}
	env := stackEnv(base, map[string]string{"CONVOY_LOG_LEVEL": "warn", "CONVOY_OPS_ADDR": "127.0.0.1:0"})
	for _, want := range []string{"PATH=/bin", "HOME=/root", "CONVOY_LOG_LEVEL=warn", "CONVOY_OPS_ADDR=127.0.0.1:0"} {
		if !slices.Contains(env, want) {
			t.Errorf("missing %s in %v", want, env)
		}
	}
	for _, kv := range env {
		for _, gone := range []string{"MONGODB_URI=", "NATS_URL=", "CONVOY_LOG_LEVEL=debug", "CONVOY_DEVSTACK_SERVICES="} {
			if strings.HasPrefix(kv, gone) {
				t.Errorf("%s kept: a fresh stack must not use other servers or settings", kv)
			}
		}
	}
}
