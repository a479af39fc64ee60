// Package rotation seals the stored secrets again with the active
// encryption key once a key rotation is asked for (POST
// /api/v1/admin/encryption/rotate), recording its progress in the store. A
// lease in a JetStream KV bucket lets one replica run it; when that replica
// dies, its lease expires and another one starts the (idempotent) pass
// again.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"convoy/core/store"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Bucket holds the background work leases; leaseKey is the rotation's.
const (
	Bucket   = "convoy_leases"
	leaseKey = "encryption_rotation"
	// LeaseTTL is how long a dead holder keeps the lease; the holder renews
	// it at a third of that.
	LeaseTTL = 30 * time.Second
)

// Store is what a rotation reads and writes.
type Store interface {
	EncryptionState(ctx context.Context) (*store.EncryptionState, error)
	SetRotation(ctx context.Context, r store.Rotation) error
	FinishRotation(ctx context.Context, r store.Rotation) error
	SealedDocumentCount(ctx context.Context) (int64, error)
	Reseal(ctx context.Context, progress func(done int64) error) error
}

// EnsureBucket creates the lease bucket (idempotent).
func EnsureBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, History: 1, TTL: LeaseTTL, Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure lease bucket: %w", err)
	}
	return kv, nil
}

// Options tune a Rotator.
type Options struct {
	// ActiveKeyID is the key this service seals with ("" when none is
	// configured: a rotation then fails, naming the problem).
	ActiveKeyID string
	// Interval is how often the store is asked whether a rotation waits.
	Interval time.Duration
	// Holder names this replica in the lease.
	Holder string
}

// Rotator runs the key rotations asked for.
type Rotator struct {
	st   Store
	kv   jetstream.KeyValue
	opts Options
	log  *zap.Logger
	now  func() time.Time
}

// New returns a Rotator.
func New(st Store, kv jetstream.KeyValue, opts Options, log *zap.Logger) *Rotator {
	return &Rotator{st: st, kv: kv, opts: opts, log: log, now: func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }}
}

// Run checks for a waiting rotation every Interval and runs it, until ctx
// ends.
func (r *Rotator) Run(ctx context.Context) error {
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		if err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("key rotation", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once runs the waiting rotation, if there is one and no other replica
// holds the lease.
func (r *Rotator) Once(ctx context.Context) error {
	state, err := r.st.EncryptionState(ctx)
	if err != nil {
		return err
	}
	rot := state.Rotation
	if rot.Status != store.RotationPending && rot.Status != store.RotationRunning {
		return nil
	}
	rev, err := r.kv.Create(ctx, leaseKey, []byte(r.opts.Holder))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil // another replica runs it
	}
	if err != nil {
		return fmt.Errorf("take rotation lease: %w", err)
	}
	lease := &lease{kv: r.kv, rev: rev, holder: r.opts.Holder, renewed: time.Now()}
	defer lease.release(context.WithoutCancel(ctx))
	return r.run(ctx, rot, lease)
}

func (r *Rotator) run(ctx context.Context, rot store.Rotation, l *lease) error {
	if rot.ActiveKeyID != r.opts.ActiveKeyID {
		rot.Status, rot.FinishedAt = store.RotationFailed, ptr(r.now())
		rot.Error = fmt.Sprintf("the rotation asks for key %q but scheduler-service seals with %q: give every service the same CONVOY_ENCRYPTION_KEYS", rot.ActiveKeyID, r.opts.ActiveKeyID)
		return r.st.SetRotation(ctx, rot)
	}
	total, err := r.st.SealedDocumentCount(ctx)
	if err != nil {
		return err
	}
	rot.Status, rot.Total, rot.Done, rot.Error = store.RotationRunning, total, 0, ""
	if rot.StartedAt == nil {
		rot.StartedAt = ptr(r.now())
	}
	if err := r.st.SetRotation(ctx, rot); err != nil {
		return err
	}
	log := r.log.With(zap.String("active_key_id", rot.ActiveKeyID))
	log.Info("key rotation started", zap.Int64("total", total))
	err = r.st.Reseal(ctx, func(done int64) error {
		if err := l.renew(ctx); err != nil {
			return err
		}
		rot.Done = done
		return r.st.SetRotation(ctx, rot)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopping: the status stays running, and the next holder starts again
		}
		rot.Status, rot.FinishedAt, rot.Error = store.RotationFailed, ptr(r.now()), err.Error()
		log.Error("key rotation failed", zap.Error(err))
		return r.st.SetRotation(ctx, rot)
	}
	rot.Status, rot.FinishedAt, rot.Total = store.RotationDone, ptr(r.now()), max(rot.Total, rot.Done)
	log.Info("key rotation finished", zap.Int64("done", rot.Done))
	return r.st.FinishRotation(ctx, rot)
}

// lease is a held rotation lease.
type lease struct {
	kv      jetstream.KeyValue
	rev     uint64
	holder  string
	renewed time.Time
}

// renew extends the lease when a third of its TTL has passed; it fails
// when the lease was lost (it expired and another replica took it).
func (l *lease) renew(ctx context.Context) error {
	if time.Since(l.renewed) < LeaseTTL/3 {
		return nil
	}
	rev, err := l.kv.Update(ctx, leaseKey, []byte(l.holder), l.rev)
	if err != nil {
		return fmt.Errorf("renew rotation lease: %w", err)
	}
	l.rev, l.renewed = rev, time.Now()
	return nil
}

func (l *lease) release(ctx context.Context) {
	_ = l.kv.Delete(ctx, leaseKey, jetstream.LastRevision(l.rev))
}

func ptr[T any](v T) *T { return &v }
