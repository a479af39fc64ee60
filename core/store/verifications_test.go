package store_test

import (
	"testing"
	"time"

	"convoy/core/model"
	"convoy/core/store"
)

func testVerifications(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g := newGroup(t, st)
	a := newApp(t, st, g.UID)
	e := newEndpoint(t, st, g.UID, a.UID)
	at := ms(time.Now())
	v := &model.PendingVerification{EndpointID: e.UID, GroupID: g.UID, CreatedAt: at, NextAttemptAt: at}
	mustOK(t, st.PutVerification(ctx, v))
	later := at.Add(time.Minute)
	v.NextAttemptAt = later
	mustOK(t, st.PutVerification(ctx, v)) // a replace, not a second item
	list, err := st.ListVerifications(ctx, 1000)
	mustOK(t, err)
	n := 0
	for _, got := range list {
		if got.EndpointID == e.UID {
			n++
			if !got.NextAttemptAt.Equal(later) || got.GroupID != g.UID {
				t.Fatalf("item read back as %+v", got)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d items for the endpoint, want 1", n)
	}

	// One claimant at a time, until the lease runs out.
	ok, err := st.ClaimVerification(ctx, e.UID, time.Now().Add(time.Minute))
	mustOK(t, err)
	again, err := st.ClaimVerification(ctx, e.UID, time.Now().Add(time.Minute))
	mustOK(t, err)
	if !ok || again {
		t.Fatalf("claims = %v, %v; want the first only", ok, again)
	}
	v.LeaseUntil = ptr(time.Now().Add(-time.Second)) // expired
	mustOK(t, st.PutVerification(ctx, v))
	if ok, err := st.ClaimVerification(ctx, e.UID, time.Now().Add(time.Minute)); err != nil || !ok {
		t.Fatalf("claim after the lease ran out = %v, %v", ok, err)
	}

	// The outcome is set without touching the endpoint's other settings.
	e.Description = "changed meanwhile"
	mustOK(t, st.ReplaceEndpoint(ctx, e))
	rate := int32(120)
	state := model.EndpointVerification{Verified: true, VerifiedAt: &at, Attempts: 2}
	mustOK(t, st.SetEndpointVerification(ctx, e.UID, state, model.EndpointActive, &rate, time.Minute))
	got, err := st.EndpointByID(ctx, e.UID)
	mustOK(t, err)
	if got.Description != "changed meanwhile" || got.Status != model.EndpointActive || got.RateLimit != 120 ||
		got.RateLimitDuration != time.Minute || got.Verification == nil || !got.Verification.Verified || got.Verification.Attempts != 2 {
		t.Fatalf("endpoint after verification %+v (%+v)", got, got.Verification)
	}
	wantNotFound(t, "verify a missing endpoint", st.SetEndpointVerification(ctx, "missing", state, "", nil, 0))

	mustOK(t, st.DeleteVerification(ctx, e.UID))
	mustOK(t, st.DeleteVerification(ctx, e.UID)) // gone already: fine
	list, err = st.ListVerifications(ctx, 1000)
	mustOK(t, err)
	for _, got := range list {
		if got.EndpointID == e.UID {
			t.Fatal("item still listed after delete")
		}
	}
}

func ptr[T any](v T) *T { return &v }
