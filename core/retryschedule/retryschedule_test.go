package retryschedule

import (
	"testing"
	"time"

	"convoy/core/model"
)

func TestDelay(t *testing.T) {
	exp := model.Strategy{Type: model.StrategyExponential}
	lin := model.Strategy{Type: model.StrategyLinear, Duration: 42}
	p := Policy{MaxRetryAfter: time.Hour}
	tests := []struct {
		name    string
		s       model.Strategy
		attempt int32
		ra      time.Duration
		hasRA   bool
		want    time.Duration
	}{
		{"linear first", lin, 1, 0, false, 42 * time.Second},
		{"linear ninth", lin, 9, 0, false, 42 * time.Second},
		{"exp 1", exp, 1, 0, false, 10 * time.Second},
		{"exp 2", exp, 2, 0, false, 30 * time.Second},
		{"exp 3", exp, 3, 0, false, time.Minute},
		{"exp 4", exp, 4, 0, false, 3 * time.Minute},
		{"exp 5", exp, 5, 0, false, 5 * time.Minute},
		{"exp 6", exp, 6, 0, false, 10 * time.Minute},
		{"exp 7", exp, 7, 0, false, 15 * time.Minute},
		{"exp last repeats", exp, 20, 0, false, 15 * time.Minute},
		{"retry-after wins", exp, 1, 90 * time.Second, true, 90 * time.Second},
		{"retry-after capped", lin, 1, 5 * time.Hour, true, time.Hour},
		{"retry-after zero", lin, 1, 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Delay(tt.s, tt.attempt, tt.ra, tt.hasRA); got != tt.want {
				t.Errorf("Delay = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestJitterStaysInBounds(t *testing.T) {
	p := Policy{Jitter: 0.2}
	s := model.Strategy{Type: model.StrategyLinear, Duration: 100}
	lo, hi := 80*time.Second, 120*time.Second
	varied := false
	for range 200 {
		d := p.Delay(s, 1, 0, false)
		if d < lo || d > hi {
			t.Fatalf("delay %v outside [%v, %v]", d, lo, hi)
		}
		if d != 100*time.Second {
			varied = true
		}
	}
	if !varied {
		t.Fatal("jitter never changed the delay")
	}
}
