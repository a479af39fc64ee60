package config

import (
	"strings"
	"testing"

	"convoy/core/envconf"
)

func TestRead(t *testing.T) {
	c, err := read(envconf.FromMap(map[string]string{
		"CONVOY_DISPATCH_ALLOW_CIDRS": "127.0.0.0/8,::1/128", "CONVOY_RETRY_JITTER_PERCENT": "20",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Allow) != 2 || c.RetryJitter != 0.2 || c.Concurrency != 256 || c.OpsAddr != ":5008" {
		t.Fatalf("config %+v", c)
	}
	_, err = read(envconf.FromMap(map[string]string{
		"CONVOY_DISPATCH_ALLOW_CIDRS": "not-a-cidr", "CONVOY_DISPATCH_ACK_WAIT": "1s",
	}))
	for _, name := range []string{"CONVOY_DISPATCH_ALLOW_CIDRS", "CONVOY_DISPATCH_ACK_WAIT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}
