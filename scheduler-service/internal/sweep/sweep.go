// Package sweep finds deliveries whose work was lost and queues them again,
// so that every delivery is either final or has an attempt coming.
//
// Work is lost when a process dies between writing a delivery and queueing
// it (the dispatcher after recording a Retry, a manual resend after its
// write), or when the queue loses its message. The sweep asks the store for
// deliveries that are not final and were due a while ago (the grace period),
// asks the queue whether each still has a message, and re-queues those that
// have none. A re-queued task carries a message id of its own
// (queue.Requeue), the same from every replica, so sweeping from several
// replicas at once is harmless. Deliveries lost before they were ever stored
// are package reconcile's.
package sweep

import (
	"context"
	"errors"
	"time"

	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Store reads deliveries and events.
type Store interface {
	OverdueDeliveries(ctx context.Context, before time.Time, limit int) ([]model.Delivery, error)
	DeliveryByID(ctx context.Context, id string) (*model.Delivery, error)
	GetEvent(ctx context.Context, groupID, id string) (*model.Event, error)
	UpdateDeliveries(ctx context.Context, updates []store.DeliveryUpdate) error
}

// Queue tells whether a delivery has a message, and queues tasks.
type Queue interface {
	Queued(ctx context.Context, deliveryID string) (bool, error)
	// QueuedOrdered is Queued for a delivery queued to an ordered endpoint.
	QueuedOrdered(ctx context.Context, endpointID, deliveryID string) (bool, error)
	// EnsureOrdered makes sure an ordered endpoint's consumer exists.
	EnsureOrdered(ctx context.Context, endpointID string) error
	Requeue(ctx context.Context, t *queuev1.DeliveryTask) error
}

// Options tune the sweep.
type Options struct {
	Interval time.Duration
	// Grace is how overdue a delivery must be before it is checked; it keeps
	// the sweep away from work that is merely in transit.
	Grace time.Duration
	// Batch bounds the deliveries checked per pass.
	Batch int
}

// Sweeper runs sweeps.
type Sweeper struct {
	store    Store
	queue    Queue
	opts     Options
	log      *zap.Logger
	now      func() time.Time
	sweeps   *prometheus.CounterVec
	requeued prometheus.Counter
}

// New returns a Sweeper; it counts sweeps and re-queued deliveries on reg.
func New(st Store, q Queue, opts Options, reg prometheus.Registerer, log *zap.Logger) *Sweeper {
	s := &Sweeper{store: st, queue: q, opts: opts, log: log, now: time.Now,
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_scheduler_sweeps_total", Help: "Sweeps for lost work, by result (ok, error).",
		}, []string{"result"}),
		requeued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "convoy_scheduler_swept_deliveries_total", Help: "Deliveries a sweep found lost and queued again.",
		}),
	}
	reg.MustRegister(s.sweeps, s.requeued)
	s.sweeps.WithLabelValues("error") // at zero from the start, for alerts on its increase
	return s
}

// Run sweeps every Interval until ctx ends. The store answers from an index
// of the deliveries not yet final (on the embedded store too, through its
// SQLite index), so a sweep costs what it finds. A store that had to scan
// would make it grow with history: the pause after a sweep is therefore at
// least maxShare⁻¹ times as long as the sweep took, so sweeping never takes
// more than a twentieth of the store's time.
func (s *Sweeper) Run(ctx context.Context) error {
	wait := s.opts.Interval
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		start := time.Now()
		n, err := s.Once(ctx)
		wait = max(s.opts.Interval, time.Duration(float64(time.Since(start))/maxShare))
		s.requeued.Add(float64(n))
		if err != nil {
			s.sweeps.WithLabelValues("error").Inc()
			s.log.Warn("sweep", zap.Error(err), zap.Int("requeued", n))
			continue
		}
		s.sweeps.WithLabelValues("ok").Inc()
		if n > 0 {
			s.log.Info("sweep re-queued lost deliveries", zap.Int("requeued", n))
		}
	}
}

// maxShare is the largest share of time sweeps may take.
const maxShare = 0.05

// maxLookahead bounds how many batches one sweep reads past deliveries
// held back behind an ordered endpoint's head.
const maxLookahead = 64

// Once runs one sweep and returns how many deliveries it re-queued.
//
// Deliveries waiting behind an ordered endpoint's head are overdue by
// design (due when accepted) and queued; when they make up most of a batch
// the sweep reads further, so that a long ordered backlog never hides lost
// work behind it.
func (s *Sweeper) Once(ctx context.Context) (int, error) {
	before := s.now().Add(-s.opts.Grace)
	limit, checked, waiting, requeued := s.opts.Batch, 0, 0, 0
	// Endpoints with held-back deliveries: each has its consumer made sure
	// of once per sweep, so a task never waits on one that went missing.
	ensured := map[string]bool{}
	for {
		overdue, err := s.store.OverdueDeliveries(ctx, before, limit)
		if err != nil {
			return requeued, err
		}
		for i := checked; i < len(overdue); i++ {
			d := &overdue[i]
			queued, err := s.queued(ctx, d)
			if err != nil {
				return requeued, err
			}
			if queued {
				if d.Ordered {
					waiting++
					if !ensured[d.EndpointID] {
						ensured[d.EndpointID] = true
						if err := s.queue.EnsureOrdered(ctx, d.EndpointID); err != nil {
							return requeued, err
						}
					}
				}
				continue
			}
			ok, err := s.requeue(ctx, d)
			if err != nil {
				return requeued, err
			}
			if ok {
				requeued++
			}
		}
		checked = max(checked, len(overdue))
		if len(overdue) < limit || waiting*2 < checked || limit >= maxLookahead*s.opts.Batch {
			return requeued, nil
		}
		limit = min(limit*4, maxLookahead*s.opts.Batch)
	}
}

func (s *Sweeper) queued(ctx context.Context, d *model.Delivery) (bool, error) {
	if d.Ordered {
		return s.queue.QueuedOrdered(ctx, d.EndpointID, d.UID)
	}
	return s.queue.Queued(ctx, d.UID)
}

// requeue queues d, which the queue holds no task of, again: unless it
// moved on meanwhile.
func (s *Sweeper) requeue(ctx context.Context, d *model.Delivery) (bool, error) {
	// Between the store read and the queue check, a dispatcher may have
	// finished the delivery and acked its task: read it again.
	now, err := s.store.DeliveryByID(ctx, d.UID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if now.Status != d.Status || now.Metadata.NumTrials != d.Metadata.NumTrials || now.Generation != d.Generation || model.IsFinal(now.Status) {
		return false, nil
	}
	ev, err := s.store.GetEvent(ctx, d.GroupID, d.EventID)
	if errors.Is(err, store.ErrNotFound) {
		// Ingest stores an event after its deliveries; an event still
		// missing this late was never accepted (its producer got an error),
		// so its deliveries are closed rather than left waiting.
		why := "event was never stored: its producer was answered with an error"
		s.log.Info("discarding delivery of an event that was never stored", zap.String("delivery_id", d.UID))
		return false, s.store.UpdateDeliveries(ctx, []store.DeliveryUpdate{{
			ID: d.UID, Status: model.StatusDiscarded, Description: &why, At: s.now().UTC(),
			Trials: &store.Trials{NumTrials: d.Metadata.NumTrials},
		}})
	}
	if err != nil {
		return false, err
	}
	task := queue.NewTask(ev, now)
	if err := s.queue.Requeue(ctx, task); err != nil {
		return false, err
	}
	s.log.Info("re-queued lost delivery", zap.String("delivery_id", d.UID), zap.String("status", d.Status),
		zap.Int32("attempt", task.Attempt))
	return true, nil
}
