package ids

import "testing"

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
