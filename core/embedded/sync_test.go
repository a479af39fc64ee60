package embedded

import (
	"testing"
	"time"
)

func TestParseSync(t *testing.T) {
	for _, tc := range []struct {
		in       string
		interval time.Duration
		always   bool
		ok       bool
	}{
		{"", 0, false, true},
		{"always", 0, true, true},
		{"1s", time.Second, false, true},
		{"0s", 0, false, false},
		{"-1s", 0, false, false},
		{"sometimes", 0, false, false},
	} {
		interval, always, err := ParseSync(tc.in)
		if (err == nil) != tc.ok || interval != tc.interval || always != tc.always {
			t.Errorf("ParseSync(%q) = %v, %v, %v; want %v, %v, ok %v", tc.in, interval, always, err, tc.interval, tc.always, tc.ok)
		}
	}
	if _, err := StartNATS(NATSOptions{Dir: t.TempDir(), Port: -1, Sync: "sometimes"}); err == nil {
		t.Fatal("StartNATS accepted sync \"sometimes\"")
	}
	n, err := StartNATS(NATSOptions{Dir: t.TempDir(), Port: -1, Sync: "always"})
	if err != nil {
		t.Fatal(err)
	}
	n.Shutdown()
}
