package config

import (
	"strings"
	"testing"
	"time"

	"convoy/core/envconf"
)

func TestRead(t *testing.T) {
	c, err := read(envconf.FromMap(map[string]string{"CONVOY_SWEEP_INTERVAL": "5s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SweepInterval != 5*time.Second || c.SweepGrace != 2*time.Minute || c.OpsAddr != ":5009" {
		t.Fatalf("config %+v", c)
	}
	if _, err := read(envconf.FromMap(map[string]string{"CONVOY_SWEEP_GRACE": "soon"})); err == nil || !strings.Contains(err.Error(), "CONVOY_SWEEP_GRACE") {
		t.Fatalf("got %v, want an error naming CONVOY_SWEEP_GRACE", err)
	}
}
