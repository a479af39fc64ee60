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

func TestParsePhases(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string
		wantErr string
	}{
		{nil, PhaseNames, ""},
		{[]string{"-phases", "isolation"}, []string{PhaseIsolation}, ""},
		{[]string{"-phases", "isolation, RAW"}, []string{PhaseRaw, PhaseIsolation}, ""}, // running order
		{[]string{"-phases", "all"}, PhaseNames, ""},
		{[]string{"-phases", "empty,empty"}, []string{PhaseEmpty}, ""},
		{[]string{"-phases", "isolation,fast"}, nil, `-phases: unknown phase "fast"`},
		{[]string{"-phases", ""}, nil, "-phases: want at least one"},
		{[]string{"-phases", " , "}, nil, "-phases: want at least one"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, err := ParseFlags("bench", tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Phases, tt.want) {
				t.Fatalf("phases %v, want %v", c.Phases, tt.want)
			}
			for _, p := range PhaseNames {
				if c.Runs(p) != slices.Contains(tt.want, p) {
					t.Errorf("Runs(%s) = %v", p, c.Runs(p))
				}
			}
		})
	}
}

func TestIsolationFlags(t *testing.T) {
	c, err := ParseFlags("bench", []string{"-phases", "isolation", "-isolation-slow-events", "500", "-isolation-hang", "5s",
		"-isolation-rate", "50", "-isolation-fixed", "20s", "-isolation-sustained", "10s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.IsolationSlowEvents != 500 || c.IsolationHang != 5*time.Second || c.IsolationRate != 50 ||
		c.IsolationFixed != 20*time.Second || c.IsolationSustained != 10*time.Second {
		t.Fatalf("got %+v", c)
	}
	if got, want := isolationReserve(c), 70*time.Second; got != want {
		t.Fatalf("reserve %s, want %s", got, want)
	}
	c.Phases = []string{PhaseHistory}
	if got := isolationReserve(c); got != 0 {
		t.Fatalf("reserve %s without the isolation phase", got)
	}
	d := Default()
	if d.IsolationSlowEvents*IsolationSlowEndpoints < isolationStatedAttemptsDue || d.IsolationHang != isolationStatedHang ||
		d.IsolationRate != isolationStatedRate || d.IsolationFixed < isolationStatedFixed {
		t.Fatalf("the defaults are weaker than the setup the targets are stated for: %+v", d)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Producers, c.FixedRate, c.RawDuration, c.Budget, c.MaxBacklog, c.BinDir = 0, 0, 0, -time.Second, -1, ""
	c.IsolationSlowEvents, c.IsolationHang, c.IsolationRate, c.IsolationFixed = 0, isolationTimeout, 0, 0
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"-producers", "-rate", "-raw", "-budget", "-max-backlog", "-bin",
		"-isolation-slow-events", "-isolation-hang", "-isolation-rate", "-isolation-fixed"} {
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
