// Package record writes deliveries' state changes and attempts to the store
// in batches: one bulk command carries many deliveries' writes, each still a
// single-document update by `_id`.
//
// A single flusher keeps writes in the order they were handed in, so a
// delivery's Processing mark can never land after its outcome. Within a
// batch, a Processing mark followed by the same delivery's outcome is
// dropped: the outcome says more, and under load most marks are absorbed
// this way instead of costing a write.
package record

import (
	"context"

	"convoy/core/batch"
	"convoy/core/model"
	"convoy/core/store"
)

// Store applies delivery updates.
type Store interface {
	UpdateDeliveries(ctx context.Context, updates []store.DeliveryUpdate) error
}

// Recorder batches delivery updates.
type Recorder struct {
	store   Store
	batcher *batch.Batcher[store.DeliveryUpdate]
}

// New returns a Recorder; call Run to start writing.
func New(st Store) *Recorder {
	r := &Recorder{store: st}
	r.batcher = batch.New(r.flush, 200, 1)
	return r
}

// Run writes until ctx ends, then writes what was already handed in.
func (r *Recorder) Run(ctx context.Context) error { return r.batcher.Run(ctx) }

// Record writes u and returns once it is durable.
func (r *Recorder) Record(ctx context.Context, u store.DeliveryUpdate) error {
	return r.batcher.Do(ctx, u)
}

// Mark hands in a change without waiting for it (the Processing mark of a
// long attempt).
func (r *Recorder) Mark(ctx context.Context, u store.DeliveryUpdate) {
	r.batcher.Submit(ctx, u)
}

func (r *Recorder) flush(ctx context.Context, updates []store.DeliveryUpdate) error {
	return r.store.UpdateDeliveries(ctx, coalesce(updates))
}

// coalesce drops Processing marks that a later update of the same delivery
// in the batch supersedes.
func coalesce(updates []store.DeliveryUpdate) []store.DeliveryUpdate {
	last := make(map[string]int, len(updates))
	for i, u := range updates {
		last[u.ID] = i
	}
	out := updates[:0:0]
	for i, u := range updates {
		if u.Status == model.StatusProcessing && last[u.ID] != i {
			continue
		}
		out = append(out, u)
	}
	return out
}
