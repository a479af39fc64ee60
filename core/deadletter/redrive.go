package deadletter

import (
	"context"
	"errors"
	"fmt"

	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"

	"github.com/nats-io/nats.go"
)

// Store is what a redrive reads and writes deliveries through.
type Store interface {
	DeliveryByID(ctx context.Context, id string) (*model.Delivery, error)
	UpdateDeliveries(ctx context.Context, updates []store.DeliveryUpdate) error
}

// Failure is an entry a redrive left in place, and why.
type Failure struct {
	ID  uint64
	Err error
}

// Result counts what a redrive did.
type Result struct {
	Redriven int
	Failures []Failure
}

// redriveAllPage is how many entries a redrive of everything reads at once.
const redriveAllPage = 100

// Redrive puts entries back to work and deletes each one it redrove: the ids
// given, or, when ids is empty, every entry in the stream when it is called
// (entries dead-lettered again meanwhile wait for the next redrive). An
// entry holding an outcome has it written to the store, unless the store
// already holds that attempt, and its due retry queued; any other entry's
// raw task is published again to its original subject. An entry that fails
// stays, and is reported in the result.
func (q *Queue) Redrive(ctx context.Context, st Store, ids []uint64) (Result, error) {
	q.redriveMu.Lock()
	defer q.redriveMu.Unlock()
	var res Result
	one := func(e Stored) {
		if err := q.redriveOne(ctx, st, e); err != nil {
			res.Failures = append(res.Failures, Failure{ID: e.ID, Err: err})
			return
		}
		res.Redriven++
	}
	if len(ids) > 0 {
		for _, id := range ids {
			e, err := q.Get(ctx, id)
			if err != nil {
				res.Failures = append(res.Failures, Failure{ID: id, Err: err})
				continue
			}
			one(e)
		}
		return res, nil
	}

	s, err := q.stream(ctx)
	if err != nil {
		return res, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return res, fmt.Errorf("dead-letter stream info: %w", err)
	}
	last := info.State.LastSeq
	for from := uint64(1); from != 0 && from <= last; {
		page, next, err := q.List(ctx, from, redriveAllPage)
		if err != nil {
			return res, err
		}
		for _, e := range page {
			if e.ID > last {
				return res, nil
			}
			one(e)
		}
		from = next
	}
	return res, nil
}

func (q *Queue) redriveOne(ctx context.Context, st Store, e Stored) error {
	switch {
	case e.Outcome != nil:
		write, retry, err := q.outcomeStillNeeded(ctx, st, e)
		if err != nil {
			return err
		}
		if write {
			if err := st.UpdateDeliveries(ctx, []store.DeliveryUpdate{*e.Outcome}); err != nil {
				return fmt.Errorf("record outcome: %w", err)
			}
		}
		if retry && e.Retry != nil {
			if err := queue.NewPublisher(q.js).PublishRetry(ctx, e.Retry); err != nil {
				return err
			}
		}
	case e.Subject != "" && len(e.Entry.Task) > 0:
		// No message id: the original's may still be in the stream's
		// duplicate window, and the republished task would be dropped.
		if _, err := q.js.PublishMsg(ctx, &nats.Msg{Subject: e.Subject, Data: e.Entry.Task}); err != nil {
			return fmt.Errorf("republish task: %w", err)
		}
	default:
		return errors.New("entry holds neither an outcome nor a task to republish")
	}
	return q.Delete(ctx, e.ID)
}

// outcomeStillNeeded compares an entry's outcome with the stored delivery.
// The write that failed may in fact have landed (a timeout after the commit),
// so the outcome is written only if the store lacks that attempt; a delivery
// restarted since (another attempt budget) takes neither the outcome nor the
// retry of the old one.
func (q *Queue) outcomeStillNeeded(ctx context.Context, st Store, e Stored) (write, retry bool, err error) {
	t, err := queue.DecodeTask(e.Entry.Task)
	if err != nil {
		return true, true, nil
	}
	d, err := st.DeliveryByID(ctx, e.Outcome.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, true, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read delivery: %w", err)
	}
	if d.Generation != t.Generation {
		return false, false, nil
	}
	return d.Metadata.NumTrials < t.Attempt, true, nil
}
