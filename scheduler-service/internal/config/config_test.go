package config

import (
	"strings"
	"testing"
	"time"

	"convoy/core/envconf"
)

func TestRead(t *testing.T) {
	c, err := read(envconf.FromMap(map[string]string{"CONVOY_SWEEP_INTERVAL": "5s", "CONVOY_RECONCILE_GRACE": "10s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SweepInterval != 5*time.Second || c.SweepGrace != 2*time.Minute || c.OpsAddr != ":5009" {
		t.Fatalf("config %+v", c)
	}
	if c.ReconcileInterval != 30*time.Second || c.ReconcileGrace != 10*time.Second || c.ReconcileLookback != time.Hour || c.ReconcileBatch != 2000 {
		t.Fatalf("reconcile config %+v", c)
	}
}

func TestReadRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"bad duration", map[string]string{"CONVOY_SWEEP_GRACE": "soon"}, []string{"CONVOY_SWEEP_GRACE"}},
		{"lookback within grace", map[string]string{"CONVOY_RECONCILE_GRACE": "2h"}, []string{"CONVOY_RECONCILE_LOOKBACK", "CONVOY_RECONCILE_GRACE"}},
		{"every problem at once", map[string]string{"CONVOY_RECONCILE_BATCH": "0", "CONVOY_RECONCILE_INTERVAL": "-1s"},
			[]string{"CONVOY_RECONCILE_BATCH", "CONVOY_RECONCILE_INTERVAL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := read(envconf.FromMap(tc.env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}
