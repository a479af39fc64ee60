package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
)

func metaEvent(groupID string, at time.Time) *model.MetaEvent {
	due := ms(at)
	return &model.MetaEvent{
		UID: ids.New(), GroupID: groupID, EventType: "endpoint.disabled", Status: model.StatusRetry,
		Metadata: model.MetaEventMetadata{
			Raw:       `{"event_type":"endpoint.disabled","data":{"uid":"e1"},"created_at":"2026-01-02T03:04:05.678Z"}`,
			NumTrials: 1, RetryLimit: 3, NextSendTime: &due,
		},
		Attempts:  []model.Attempt{*attemptN(1, false)},
		CreatedAt: ms(at), UpdatedAt: ms(at),
	}
}

// A meta event is inserted once, updated by id, listed newest first without
// attempts, read whole through its group only, and restarted with a fresh
// budget.
func testMetaEvents(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g, other := newGroup(t, st), newGroup(t, st)
	first := metaEvent(g.UID, time.Now())
	mustOK(t, st.InsertMetaEvent(ctx, first))
	if err := st.InsertMetaEvent(ctx, first); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second insert: %v, want ErrDuplicate", err)
	}
	second := metaEvent(g.UID, time.Now())
	mustOK(t, st.InsertMetaEvent(ctx, second))
	mustOK(t, st.InsertMetaEvent(ctx, metaEvent(other.UID, time.Now())))

	got, err := st.GetMetaEvent(ctx, g.UID, first.UID)
	mustOK(t, err)
	if !reflect.DeepEqual(got, first) {
		t.Fatalf("meta event read back as\n%+v\nwant\n%+v", got, first)
	}
	_, err = st.GetMetaEvent(ctx, other.UID, first.UID)
	wantNotFound(t, "meta event through another group", err)
	light, err := st.MetaEventByID(ctx, first.UID)
	mustOK(t, err)
	if light.Attempts != nil || light.Metadata.Raw != first.Metadata.Raw {
		t.Fatalf("MetaEventByID = %+v, want the document without attempts", light)
	}

	page, info, err := st.ListMetaEvents(ctx, g.UID, store.Page{PerPage: 1})
	mustOK(t, err)
	if len(page) != 1 || page[0].UID != second.UID || !info.HasNext || page[0].Attempts != nil {
		t.Fatalf("page 1 = %+v %+v, want the newer meta event without attempts and a next page", page, info)
	}
	page, info, err = st.ListMetaEvents(ctx, g.UID, store.Page{PerPage: 1, Cursor: info.NextCursor})
	mustOK(t, err)
	if len(page) != 1 || page[0].UID != first.UID || info.HasNext {
		t.Fatalf("page 2 = %+v %+v, want the older meta event and no next page", page, info)
	}

	at := ms(time.Now())
	mustOK(t, st.UpdateMetaEvent(ctx, store.MetaEventUpdate{
		ID: first.UID, Status: model.StatusSuccess, NumTrials: 2, Attempt: attemptN(2, true), At: at,
	}))
	got, err = st.GetMetaEvent(ctx, g.UID, first.UID)
	mustOK(t, err)
	if got.Status != model.StatusSuccess || got.Metadata.NumTrials != 2 || got.Metadata.NextSendTime != nil ||
		len(got.Attempts) != 2 || !got.Attempts[1].Status || got.Metadata.Raw != first.Metadata.Raw || !got.UpdatedAt.Equal(at) {
		t.Fatalf("updated meta event %+v", got)
	}
	wantNotFound(t, "update of a missing meta event", st.UpdateMetaEvent(ctx, store.MetaEventUpdate{ID: ids.New(), Status: model.StatusSuccess, At: at}))

	restarted, err := st.RestartMetaEvent(ctx, first.UID, 7)
	mustOK(t, err)
	m := restarted.Metadata
	if restarted.Status != model.StatusScheduled || restarted.Generation != 1 || m.NumTrials != 0 || m.RetryLimit != 7 ||
		m.NextSendTime == nil || m.Raw != first.Metadata.Raw {
		t.Fatalf("restarted meta event %+v", restarted)
	}
	_, err = st.RestartMetaEvent(ctx, ids.New(), 1)
	wantNotFound(t, "restart of a missing meta event", err)

	// Deleting the group deletes its meta events.
	mustOK(t, st.DeleteGroup(ctx, g.UID))
	_, err = st.MetaEventByID(ctx, first.UID)
	wantNotFound(t, "meta event of a deleted group", err)
}
