package metaevent

import (
	"testing"

	"convoy/core/model"
)

func TestWanted(t *testing.T) {
	on := model.MetaEventConfig{IsEnabled: true, URL: "https://ops.example.com/meta"}
	tests := []struct {
		name string
		cfg  model.MetaEventConfig
		typ  string
		want bool
	}{
		{"off", model.MetaEventConfig{URL: on.URL}, EndpointDisabled, false},
		{"on without a url", model.MetaEventConfig{IsEnabled: true}, EndpointDisabled, false},
		{"on, every type", on, DeliveryFailing, true},
		{"listed type", withTypes(on, EndpointDisabled, DeliveryFailed), DeliveryFailed, true},
		{"unlisted type", withTypes(on, EndpointDisabled), DeliveryFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Wanted(tt.cfg, tt.typ); got != tt.want {
				t.Fatalf("Wanted = %v, want %v", got, tt.want)
			}
		})
	}
}

func withTypes(c model.MetaEventConfig, types ...string) model.MetaEventConfig {
	c.EventTypes = types
	return c
}

func TestDeliveryEventType(t *testing.T) {
	tests := []struct {
		status  string
		attempt int32
		want    string
	}{
		{model.StatusRetry, 1, ""},
		{model.StatusRetry, 2, ""},
		{model.StatusRetry, 3, DeliveryFailing},
		{model.StatusRetry, 9, DeliveryFailing},
		{model.StatusFailure, 1, DeliveryFailed},
		{model.StatusFailure, 10, DeliveryFailed},
		{model.StatusSuccess, 5, ""},
		{model.StatusDiscarded, 5, ""},
	}
	for _, tt := range tests {
		if got := DeliveryEventType(tt.status, tt.attempt); got != tt.want {
			t.Errorf("DeliveryEventType(%s, %d) = %q, want %q", tt.status, tt.attempt, got, tt.want)
		}
	}
}

// Over a whole run up to the threshold, each level is reached exactly once,
// in order, and never by the disabling failure itself.
func TestFailureAlertLevel(t *testing.T) {
	tests := []struct {
		threshold int64
		want      map[int64]int // failure in a row -> level; others 0
	}{
		{10, map[int64]int{5: 50, 7: 70, 9: 90}},
		{100, map[int64]int{50: 50, 70: 70, 90: 90}},
		{3, map[int64]int{2: 50}},        // 1.5 -> 2, 2.1 -> 3 and 2.7 -> 3 are the threshold itself
		{4, map[int64]int{2: 50, 3: 70}}, // 2.8 -> 3, 3.6 -> 4 is the threshold
		{20, map[int64]int{10: 50, 14: 70, 18: 90}},
		{1, map[int64]int{}},
		{0, map[int64]int{}},
	}
	for _, tt := range tests {
		for c := int64(0); c <= tt.threshold+2; c++ {
			if got := FailureAlertLevel(c, tt.threshold); got != tt.want[c] {
				t.Errorf("FailureAlertLevel(%d, %d) = %d, want %d", c, tt.threshold, got, tt.want[c])
			}
		}
	}
}
