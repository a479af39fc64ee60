// Package ids makes resource ids: ULIDs, which sort by creation time so that
// newest-first paging is a range scan on `_id`.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// monotonic makes ids created within the same millisecond sort in creation
// order (plain random entropy would order them by chance). It is the one
// piece of shared state here, guarded like crypto/rand's reader.
var monotonic = struct {
	sync.Mutex
	entropy *ulid.MonotonicEntropy
}{entropy: ulid.Monotonic(rand.Reader, 0)}

// New returns a fresh ULID as a string; ids from one process sort in the
// order they were made.
func New() string {
	monotonic.Lock()
	defer monotonic.Unlock()
	return ulid.MustNew(ulid.Timestamp(time.Now()), monotonic.entropy).String()
}

// At returns a fresh ULID made as if at t: for events recorded with a time
// of their own (imports, tests), whose created_at must be their id's time.
func At(t time.Time) string {
	monotonic.Lock()
	defer monotonic.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), monotonic.entropy).String()
}

// Delivery returns the id of the delivery of one event to one endpoint. It is
// derived from the two ids, so fanning an event out again (after a crash, or
// a retried idempotent request) writes the same deliveries instead of new
// ones, and it keeps the event's time so deliveries sort with their events.
func Delivery(eventID, endpointID string) string {
	ms := uint64(time.Now().UnixMilli())
	if ev, err := ulid.ParseStrict(eventID); err == nil {
		ms = ev.Time()
	}
	sum := sha256.Sum256([]byte(eventID + "/" + endpointID))
	var entropy [10]byte
	copy(entropy[:], sum[:10])
	var id ulid.ULID
	_ = id.SetTime(ms)
	_ = id.SetEntropy(entropy[:])
	return id.String()
}

// Time returns the creation time encoded in a ULID, and false when id is not one.
func Time(id string) (time.Time, bool) {
	u, err := ulid.ParseStrict(id)
	if err != nil {
		return time.Time{}, false
	}
	return ulid.Time(u.Time()), true
}

// AtOrAfter returns the smallest id made at or after t: with AtOrBefore it turns
// a time range into an `_id` range, which the `_id` indexes serve. ULIDs keep
// milliseconds, so t is rounded up to one; every id made before t sorts below
// it.
func AtOrAfter(t time.Time) string {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return bound(ms, 0x00)
}

// AtOrBefore returns the largest id made at or before t (rounded down to a
// millisecond).
func AtOrBefore(t time.Time) string { return bound(t.UnixMilli(), 0xff) }

func bound(ms int64, fill byte) string {
	ms = max(0, min(ms, int64(ulid.MaxTime())))
	var id ulid.ULID
	_ = id.SetTime(uint64(ms))
	for i := 6; i < len(id); i++ {
		id[i] = fill
	}
	return id.String()
}
