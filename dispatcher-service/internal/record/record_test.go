package record

import (
	"testing"

	"convoy/core/model"
	"convoy/core/store"
)

func TestCoalesceDropsSupersededProcessingMarks(t *testing.T) {
	in := []store.DeliveryUpdate{
		{ID: "a", Status: model.StatusProcessing},
		{ID: "b", Status: model.StatusProcessing},
		{ID: "a", Status: model.StatusSuccess},
		{ID: "c", Status: model.StatusRetry},
	}
	got := coalesce(in)
	want := []string{"b/Processing", "a/Success", "c/Retry"}
	if len(got) != len(want) {
		t.Fatalf("got %d updates, want %d: %+v", len(got), len(want), got)
	}
	for i, u := range got {
		if u.ID+"/"+u.Status != want[i] {
			t.Errorf("update %d = %s/%s, want %s", i, u.ID, u.Status, want[i])
		}
	}
}
