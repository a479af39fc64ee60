package consume

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"convoy/core/deadletter"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// failingFor is how long dependencies may keep failing a task before it is
// dead-lettered: longer than an outage a restart or a failover covers, so
// that only a task something is wrong with ends there.
const failingFor = 10 * time.Minute

// undecodable dead-letters a task whose bytes are not a task.
func (d *Dispatcher) undecodable(ctx context.Context, msg jetstream.Msg, err error) {
	d.log.Error("undecodable task", zap.String("subject", msg.Subject()), zap.Error(err))
	d.toDeadLetters(ctx, msg, deadletter.Entry{Reason: deadletter.ReasonUndecodable, Error: err.Error(), Subject: msg.Subject(), Task: msg.Data()})
}

// toDeadLetters puts the task in the dead letters and acknowledges it; if
// the dead letters cannot take it, the task is handed back instead, so it
// is never dropped.
func (d *Dispatcher) toDeadLetters(ctx context.Context, msg jetstream.Msg, e deadletter.Entry) {
	if d.hooks.DeadLetters == nil {
		_ = msg.NakWithDelay(time.Minute)
		return
	}
	if err := d.hooks.DeadLetters.Put(ctx, e); err != nil {
		d.log.Error("dead-letter task", zap.String("reason", e.Reason), zap.Error(err))
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	d.obs.Failed("dead_letter")
	_ = msg.Ack()
}

// handBackFailed hands back a task that a dependency failed, later the
// longer it keeps failing, and dead-letters it once that has lasted
// failingFor.
func (d *Dispatcher) handBackFailed(ctx context.Context, msg jetstream.Msg, t *queuev1.DeliveryTask, err error, log *zap.Logger) {
	since, tries := d.failing.add(queue.MsgID(t), d.now())
	if d.now().Sub(since) >= failingFor {
		log.Error("task keeps failing: dead-lettered", zap.Error(err))
		d.failing.forget(queue.MsgID(t))
		d.toDeadLetters(ctx, msg, deadletter.Entry{Reason: deadletter.ReasonStoreFailing, Error: err.Error(), Subject: msg.Subject(), Task: msg.Data()})
		return
	}
	log.Warn("task handed back", zap.Error(err))
	_ = msg.NakWithDelay(min(time.Second<<min(tries-1, 5), 30*time.Second))
}

// record writes an attempt's outcome. A failed write is tried again for a
// while (checking first whether it landed after all, so the attempt is not
// appended twice); one that still fails goes to the dead letters with the
// outcome, so the attempt record is kept and the attempt is not made again.
// It reports whether the task is settled (recorded, or dead-lettered).
func (d *Dispatcher) record(ctx context.Context, msg jetstream.Msg, t *queuev1.DeliveryTask, dec decision, log *zap.Logger) bool {
	err := d.recorder.Record(ctx, dec.update)
	for wait := 250 * time.Millisecond; err != nil && wait <= recordRetryFor; wait *= 2 {
		d.obs.Failed("store")
		log.Warn("record attempt", zap.Error(err))
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		if d.landed(ctx, t) {
			return true
		}
		err = d.recorder.Record(ctx, dec.update)
	}
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	log.Error("attempt not recorded: dead-lettered with its outcome", zap.Error(err))
	task := msg.Data()
	if t.Ordered {
		// An ordered task's message names its first attempt; the redrive
		// compares the stored trials with the attempt this outcome is of.
		if b, err := proto.Marshal(t); err == nil {
			task = b
		}
	}
	d.toDeadLetters(ctx, msg, deadletter.Entry{Reason: deadletter.ReasonAttemptUnrecorded, Error: err.Error(),
		Subject: msg.Subject(), Task: task, Outcome: &dec.update, Retry: dec.retry})
	return false
}

// recordRetryFor bounds the doubling waits between tries of a failed
// outcome write (about 16 s in all).
const recordRetryFor = 8 * time.Second

// landed reports whether the task's attempt is stored.
func (d *Dispatcher) landed(ctx context.Context, t *queuev1.DeliveryTask) bool {
	del, err := d.store.DeliveryByID(ctx, t.DeliveryId)
	if errors.Is(err, store.ErrNotFound) || err != nil {
		return false
	}
	return del.Generation == t.Generation && del.Metadata.NumTrials >= t.Attempt && del.Status != model.StatusProcessing
}

// failingSince remembers when dependencies began failing each task.
type failingSince struct {
	mu    sync.Mutex
	tasks map[string]failing
	// count mirrors len(tasks), read without the lock.
	count atomic.Int64
}

type failing struct {
	since time.Time
	tries int
}

func (f *failingSince) add(key string, now time.Time) (time.Time, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tasks == nil {
		f.tasks = map[string]failing{}
	}
	if len(f.tasks) >= 100_000 { // bounded: forgetting only restarts a clock
		clear(f.tasks)
	}
	e, ok := f.tasks[key]
	if !ok {
		e.since = now
	}
	e.tries++
	f.tasks[key] = e
	f.count.Store(int64(len(f.tasks)))
	return e.since, e.tries
}

func (f *failingSince) forget(key string) {
	f.mu.Lock()
	delete(f.tasks, key)
	f.count.Store(int64(len(f.tasks)))
	f.mu.Unlock()
}

// settled forgets t once it is done with. Almost always nothing is failing:
// that case costs one atomic load, not a message id and a lock per task.
func (f *failingSince) settled(t *queuev1.DeliveryTask) {
	if f.count.Load() > 0 {
		f.forget(queue.MsgID(t))
	}
}
