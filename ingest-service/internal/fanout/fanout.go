// Package fanout turns an accepted event into its deliveries, one per
// subscribed endpoint, and makes them durable before the producer is
// answered: deliveries to be sent are queued on JetStream (the dispatcher
// stores each with its first outcome), deliveries held back are stored, and
// then the event is stored.
//
// Accepting is group commit: concurrent events share one insert of events,
// one insert of held deliveries and one burst of async publishes, so the
// cost of a store round trip is paid per batch, not per event.
package fanout

import (
	"context"
	"time"

	"convoy/core/batch"
	"convoy/core/model"
	"convoy/core/plan"
	"convoy/core/queue"
	"convoy/core/tracing"
	queuev1 "convoy/proto/convoy/queue/v1"
)

// Store persists events and deliveries; inserts of ids already stored succeed.
type Store interface {
	InsertEvents(ctx context.Context, events []model.Event) error
	InsertDeliveries(ctx context.Context, deliveries []model.Delivery) error
}

// Publisher queues dispatch tasks and returns once the server stored them.
type Publisher interface {
	PublishTasks(ctx context.Context, tasks []*queuev1.DeliveryTask) error
}

// Observer is told how commits go (for metrics).
type Observer interface {
	Committed(events int, deliveryStatuses []string)
	CommitFailed(step string)
}

// Accepted is an event with the deliveries planned for it (plan.Deliveries).
type Accepted struct {
	Event      *model.Event
	Deliveries []model.Delivery
	// trace is the W3C context of the accepting call's span (tracing on
	// only): batches are published outside the call, so its tasks' queue
	// hop is made a child of it explicitly.
	trace map[string]string
}

// Fanout commits accepted events in batches.
type Fanout struct {
	store   Store
	pub     Publisher
	obs     Observer
	batcher *batch.Batcher[Accepted]
}

// New returns a Fanout; call Run to start committing.
func New(store Store, pub Publisher, obs Observer) *Fanout {
	f := &Fanout{store: store, pub: pub, obs: obs}
	// Batches of up to 200 events keep every delivery insert well inside one
	// store command; two flushers overlap one batch's publish with the next
	// batch's insert.
	f.batcher = batch.New(f.flush, 200, 2)
	return f
}

// Run commits batches until ctx ends, then commits what was already handed in.
func (f *Fanout) Run(ctx context.Context) error { return f.batcher.Run(ctx) }

// Commit queues the event's deliveries that are to be sent, stores those
// held back, and stores the event. It returns once all of that is durable.
func (f *Fanout) Commit(ctx context.Context, a Accepted) error {
	if tracing.Enabled() {
		a.trace = tracing.Inject(ctx)
	}
	return f.batcher.Do(ctx, a)
}

// stepTimeout bounds each store or queue step of a flush, so that producers
// get a prompt 503 while a dependency is down instead of a hung request.
const stepTimeout = 5 * time.Second

func (f *Fanout) flush(ctx context.Context, batch []Accepted) error {
	events := make([]model.Event, 0, len(batch))
	var held []model.Delivery
	var tasks []*queuev1.DeliveryTask
	var statuses []string
	for _, a := range batch {
		events = append(events, *a.Event)
		for i := range a.Deliveries {
			d := &a.Deliveries[i]
			statuses = append(statuses, d.Status)
			if plan.Sent(d) {
				t := queue.NewTask(a.Event, d)
				t.TraceContext = a.trace
				tasks = append(tasks, t)
				if d.Ordered {
					// Stored too: it may wait behind others for long, and
					// must show Scheduled meanwhile.
					held = append(held, *d)
				}
			} else {
				held = append(held, *d)
			}
		}
	}
	// The event last: once an event is stored its whole fan-out is durable,
	// so an idempotent retry that finds the event need not redo anything.
	// Queued deliveries are not stored here: the dispatcher writes each once,
	// with its first outcome, which spares the store an update per delivery.
	// If a step fails the producer gets an error; tasks queued before it
	// still deliver (a retry with the same idempotency key reuses the ids, so
	// the queue drops the repeats).
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"store_deliveries", func(ctx context.Context) error { return f.store.InsertDeliveries(ctx, held) }},
		{"publish", func(ctx context.Context) error { return f.pub.PublishTasks(ctx, tasks) }},
		{"store_events", func(ctx context.Context) error { return f.store.InsertEvents(ctx, events) }},
	}
	for _, step := range steps {
		stepCtx, cancel := context.WithTimeout(ctx, stepTimeout)
		err := step.run(stepCtx)
		cancel()
		if err != nil {
			f.obs.CommitFailed(step.name)
			return err
		}
	}
	f.obs.Committed(len(events), statuses)
	return nil
}
