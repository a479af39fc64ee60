package ids

import (
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

func TestDeliveryIsStableAndDistinct(t *testing.T) {
	ev := New()
	a1, a2, b := Delivery(ev, "ep1"), Delivery(ev, "ep1"), Delivery(ev, "ep2")
	if a1 != a2 {
		t.Fatalf("same inputs gave %s and %s", a1, a2)
	}
	if a1 == b {
		t.Fatalf("different endpoints gave the same id %s", a1)
	}
	evTime, _ := Time(ev)
	dTime, ok := Time(a1)
	if !ok || !dTime.Equal(evTime) {
		t.Fatalf("delivery time %v, want the event's %v", dTime, evTime)
	}
}

func TestNewIsSortable(t *testing.T) {
	prev := New()
	for i := 0; i < 1000; i++ {
		next := New()
		if next <= prev {
			t.Fatalf("id %s does not sort after the previous %s", next, prev)
		}
		prev = next
	}
	if _, ok := Time("not-an-id"); ok {
		t.Fatal("Time accepted a non-ULID")
	}
}

func TestTimeBounds(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	id := func(t time.Time) string { return ulid.MustNew(ulid.Timestamp(t), ulid.DefaultEntropy()).String() }
	tests := []struct {
		name string
		id   string
		ok   func(string) bool
		want bool
	}{
		{"made at t is at or after t", id(at), func(s string) bool { return s >= AtOrAfter(at) }, true},
		{"made a millisecond before is not", id(at.Add(-time.Millisecond)), func(s string) bool { return s >= AtOrAfter(at) }, false},
		{"sub-millisecond t rounds up", id(at), func(s string) bool { return s >= AtOrAfter(at.Add(time.Microsecond)) }, false},
		{"made at t is at or before t", id(at), func(s string) bool { return s <= AtOrBefore(at) }, true},
		{"sub-millisecond t rounds down", id(at), func(s string) bool { return s <= AtOrBefore(at.Add(999*time.Microsecond)) }, true},
		{"made a millisecond after is not", id(at.Add(time.Millisecond)), func(s string) bool { return s <= AtOrBefore(at) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ok(tt.id); got != tt.want {
				t.Fatalf("got %v, want %v (id %s)", got, tt.want, tt.id)
			}
		})
	}
}
