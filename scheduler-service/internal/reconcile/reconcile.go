// Package reconcile makes the store the record of what must be delivered:
// it finds stored events whose planned deliveries the queue lost before any
// of them was stored, and queues them again.
//
// Ingest queues an event's deliveries and then stores the event; the
// dispatcher stores each delivery only with its first outcome. Until then a
// delivery lives only in JetStream, and the sweep (which starts from stored
// deliveries) cannot see it. A purged stream, or a NATS host that lost its
// unsynced writes, would drop such deliveries for good.
//
// Each pass plans recent events again (plan.Deliveries, as ingest did, so
// the delivery ids are the same), and re-queues every planned delivery that
// is neither stored nor queued once the event is older than the grace
// period. Passes look only at events created within the lookback window and
// after a mark kept in the store, so their cost follows recent traffic, not
// history. The mark moves past an event only once all its deliveries are
// stored (or dead-lettered): one still waiting on the dispatch stream may
// yet be lost, so it is looked at again by the next pass. An event is thus
// examined once, or once per pass for as long as its deliveries wait in a
// backlog. Delivery is at least once: a delivery re-queued while its
// original task was still on its way is sent twice, with the same
// X-Convoy-Delivery-ID.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"convoy/core/filter"
	"convoy/core/model"
	"convoy/core/plan"
	"convoy/core/queue"
	"convoy/core/store"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// markName names this pass's progress mark in the store.
const markName = "reconcile"

// checkGroup is about how many planned deliveries one stored-deliveries
// query checks (a variable for the tests).
var checkGroup = 5000

// Store reads what was accepted and keeps the pass's mark.
type Store interface {
	EventsCreatedBetween(ctx context.Context, from, to time.Time, after string, limit int) ([]model.Event, error)
	StoredDeliveries(ctx context.Context, ids []string) (map[string]bool, error)
	GetGroup(ctx context.Context, id string) (*model.Group, error)
	GetApplication(ctx context.Context, groupID, id string) (*model.Application, error)
	EndpointsOfApp(ctx context.Context, appID string) ([]model.Endpoint, error)
	EndpointsOfGroup(ctx context.Context, groupID string) ([]model.Endpoint, error)
	ApplicationsOfGroup(ctx context.Context, groupID string) ([]model.Application, error)
	DeliveryByID(ctx context.Context, id string) (*model.Delivery, error)
	InsertDeliveries(ctx context.Context, deliveries []model.Delivery) error
	Mark(ctx context.Context, name string) (string, error)
	SetMark(ctx context.Context, name, value string) error
}

// Queue tells which stream holds a delivery's message, and queues one again.
type Queue interface {
	Where(ctx context.Context, deliveryID string) (string, error)
	Requeue(ctx context.Context, t *queuev1.DeliveryTask) error
}

// Options tune reconciliation.
type Options struct {
	// Interval is the pause between passes that found nothing more to do.
	Interval time.Duration
	// Grace is how old an event must be before its deliveries are checked:
	// longer than a task normally takes from the queue to its first stored
	// outcome, so that work in transit is left alone.
	Grace time.Duration
	// Lookback bounds how far back a pass looks, whatever the mark says: a
	// scheduler that was down longer than this leaves older events alone.
	Lookback time.Duration
	// Batch bounds the events examined per pass.
	Batch int
}

// Reconciler runs reconciliation passes.
type Reconciler struct {
	store    Store
	queue    Queue
	opts     Options
	log      *zap.Logger
	now      func() time.Time
	passes   *prometheus.CounterVec
	examined prometheus.Counter
	requeued prometheus.Counter
	lag      prometheus.Gauge
}

// New returns a Reconciler; it registers its metrics on reg.
func New(st Store, q Queue, opts Options, reg prometheus.Registerer, log *zap.Logger) *Reconciler {
	r := &Reconciler{store: st, queue: q, opts: opts, log: log, now: time.Now,
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_reconcile_passes_total", Help: "Reconciliation passes, by result (ok, error).",
		}, []string{"result"}),
		examined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "convoy_reconcile_examined_events_total", Help: "Stored events whose deliveries a reconciliation pass checked.",
		}),
		requeued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "convoy_reconcile_requeued_total", Help: "Planned deliveries found neither stored nor queued and queued again.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "convoy_reconcile_lag_seconds", Help: "Age of the newest event reconciliation has checked, less the grace period.",
		}),
	}
	reg.MustRegister(r.passes, r.examined, r.requeued, r.lag)
	r.passes.WithLabelValues("error") // at zero from the start, for alerts on its increase
	return r
}

// Run reconciles until ctx ends. A pass that filled its batch and moved the
// mark is followed by the next after a pause as long as it took (so
// catching up takes at most half of the time); otherwise the next comes
// after Interval.
func (r *Reconciler) Run(ctx context.Context) error {
	wait := r.opts.Interval
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		start := time.Now()
		res, err := r.Once(ctx)
		wait = r.opts.Interval
		if res.More {
			wait = time.Since(start)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.passes.WithLabelValues("error").Inc()
			r.log.Warn("reconcile", zap.Error(err), zap.Int("examined", res.Examined), zap.Int("requeued", res.Requeued))
			continue
		}
		r.passes.WithLabelValues("ok").Inc()
		if res.Requeued > 0 {
			r.log.Warn("reconcile re-queued deliveries the queue had lost",
				zap.Int("requeued", res.Requeued), zap.Int("examined", res.Examined))
		}
	}
}

// Result is what one pass did.
type Result struct {
	Examined int  // events checked
	Requeued int  // deliveries queued again
	Full     bool // the pass examined a whole batch
	More     bool // and moved the mark: the next pass has new events to see
}

// Once runs one pass.
func (r *Reconciler) Once(ctx context.Context) (Result, error) {
	var res Result
	now := r.now()
	to, from := now.Add(-r.opts.Grace), now.Add(-r.opts.Lookback)
	mark, err := r.store.Mark(ctx, markName)
	if err != nil {
		return res, err
	}
	events, err := r.store.EventsCreatedBetween(ctx, from, to, mark, r.opts.Batch)
	if err != nil {
		return res, err
	}
	res.Full = len(events) == r.opts.Batch
	p := pass{Reconciler: r, groups: map[string]*model.Group{}, apps: map[string]*model.Application{},
		endpoints: map[string][]model.Endpoint{}}
	settledUpTo := -1 // the events up to this index are settled: the mark may pass them
	for first := 0; first < len(events); {
		planned, stored, err := p.planGroup(ctx, events[first:])
		if err != nil {
			return res, err
		}
		for j, ds := range planned {
			i := first + j
			n, waiting, err := p.settle(ctx, &events[i], ds, stored)
			res.Requeued += n
			r.requeued.Add(float64(n))
			if err != nil {
				return res, fmt.Errorf("reconcile event %s: %w", events[i].UID, err)
			}
			res.Examined++
			r.examined.Inc()
			if !waiting && settledUpTo == i-1 {
				settledUpTo = i
			}
		}
		first += len(planned)
	}
	if settledUpTo >= 0 {
		if err := r.store.SetMark(ctx, markName, events[settledUpTo].UID); err != nil {
			return res, err
		}
	}
	checkedUpTo := to
	switch {
	case settledUpTo < len(events)-1:
		checkedUpTo = events[settledUpTo+1].CreatedAt
	case res.Full:
		checkedUpTo = events[len(events)-1].CreatedAt
	}
	res.More = res.Full && settledUpTo >= 0
	r.lag.Set(max(0, to.Sub(checkedUpTo).Seconds()))
	return res, nil
}

// pass holds what one pass has read, so a group, an application and its
// endpoints are read once per pass, not once per event.
type pass struct {
	*Reconciler
	groups    map[string]*model.Group
	apps      map[string]*model.Application
	endpoints map[string][]model.Endpoint
	// A broadcast's or fan-out's targets, by group.
	groupApps      map[string]map[string]*model.Application
	groupEndpoints map[string][]model.Endpoint
}

// planGroup plans the first of events, as many as have about checkGroup
// deliveries together (at least one event), and finds which of those
// deliveries are stored. Nearly every one is: one query finds them, and only
// the others are looked for in the queue; the bound keeps a broadcast's
// thousands of deliveries from being held for a whole batch.
func (p *pass) planGroup(ctx context.Context, events []model.Event) (planned [][]model.Delivery, stored map[string]bool, err error) {
	var ids []string
	for i := 0; i < len(events) && len(ids) < checkGroup; i++ {
		ds, err := p.plan(ctx, &events[i])
		if err != nil {
			return nil, nil, fmt.Errorf("reconcile event %s: %w", events[i].UID, err)
		}
		planned = append(planned, ds)
		for _, d := range ds {
			ids = append(ids, d.UID)
		}
	}
	stored, err = p.store.StoredDeliveries(ctx, ids)
	return planned, stored, err
}

// plan plans ev's deliveries again; none for an event whose group or
// application was deleted (its endpoints and deliveries went with it).
func (p *pass) plan(ctx context.Context, ev *model.Event) ([]model.Delivery, error) {
	g, err := p.group(ctx, ev.GroupID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ds, err := p.deliveries(ctx, g, ev)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return ds, err
}

// settle checks the planned deliveries of one event that are not stored,
// re-queues those lost, and reports whether any is still only on the
// dispatch stream (re-queued ones included), where it may yet be lost.
func (p *pass) settle(ctx context.Context, ev *model.Event, ds []model.Delivery, stored map[string]bool) (requeued int, waiting bool, err error) {
	for _, d := range ds {
		if stored[d.UID] {
			continue
		}
		st, err := p.state(ctx, d.UID)
		if err != nil {
			return requeued, waiting, err
		}
		switch {
		case st == inTransit:
			waiting = true
		case st == settled:
		case !plan.Sent(&d):
			// To an endpoint inactive now, or of an application disabled
			// now: stored Discarded, as ingest and the dispatcher store such
			// deliveries.
			if err := p.store.InsertDeliveries(ctx, []model.Delivery{d}); err != nil {
				return requeued, waiting, err
			}
		default:
			if err := p.queue.Requeue(ctx, queue.NewTask(ev, &d)); err != nil {
				return requeued, waiting, err
			}
			requeued++
			waiting = true
			p.log.Info("re-queued lost delivery", zap.String("delivery_id", d.UID), zap.String("event_id", ev.UID),
				zap.String("endpoint_id", d.EndpointID))
		}
	}
	return requeued, waiting, nil
}

// deliveries plans ev's deliveries again as accepting it did: to the endpoints
// that existed then, routed by type and filter. An event of an application
// goes to that application's endpoints; a broadcast (no application) to
// every application's of the group, and an owner fan-out to those of the
// owner's applications, each delivery belonging to its endpoint's
// application.
func (p *pass) deliveries(ctx context.Context, g *model.Group, ev *model.Event) ([]model.Delivery, error) {
	compile := func(src string) (*filter.Filter, error) { return filter.Parse([]byte(src)) }
	if ev.AppID != "" {
		app, err := p.app(ctx, ev)
		if err != nil {
			return nil, err
		}
		eps, err := p.endpointsAt(ctx, ev)
		if err != nil {
			return nil, err
		}
		return plan.Deliveries(g, app, ev, plan.Route(ev, eps, compile)), nil
	}
	apps, eps, err := p.groupTargets(ctx, ev)
	if err != nil {
		return nil, err
	}
	routed := plan.Route(ev, eps, compile)
	appOf := make(map[string]string, len(routed))
	for i := range routed {
		appOf[routed[i].UID] = routed[i].AppID
	}
	ds := plan.Deliveries(g, &model.Application{}, ev, routed)
	for i := range ds {
		ds[i].AppID = appOf[ds[i].EndpointID]
		if a := apps[ds[i].AppID]; a != nil && a.IsDisabled {
			plan.Discard(&ds[i], "application is disabled")
		}
	}
	return ds, nil
}

// groupTargets returns, for a broadcast or fan-out event, the group's
// applications and the endpoints it was planned for (read once per pass).
func (p *pass) groupTargets(ctx context.Context, ev *model.Event) (map[string]*model.Application, []model.Endpoint, error) {
	if p.groupApps == nil {
		p.groupApps, p.groupEndpoints = map[string]map[string]*model.Application{}, map[string][]model.Endpoint{}
	}
	apps, ok := p.groupApps[ev.GroupID]
	if !ok {
		list, err := p.store.ApplicationsOfGroup(ctx, ev.GroupID)
		if err != nil {
			return nil, nil, err
		}
		eps, err := p.store.EndpointsOfGroup(ctx, ev.GroupID)
		if err != nil {
			return nil, nil, err
		}
		apps = make(map[string]*model.Application, len(list))
		for i := range list {
			apps[list[i].UID] = &list[i]
		}
		p.groupApps[ev.GroupID], p.groupEndpoints[ev.GroupID] = apps, eps
	}
	var out []model.Endpoint
	for _, ep := range p.groupEndpoints[ev.GroupID] {
		a := apps[ep.AppID]
		if a == nil || ep.CreatedAt.After(ev.CreatedAt) || (ev.OwnerID != "" && a.OwnerID != ev.OwnerID) {
			continue
		}
		out = append(out, ep)
	}
	return apps, out, nil
}

// deliveryState is where a planned delivery stands.
type deliveryState int

const (
	settled   deliveryState = iota // stored (the sweep's from then on), or dead-lettered
	inTransit                      // only on the dispatch or retry stream
	lost                           // nowhere
)

// state finds where a planned delivery stands. The queue is asked between
// two store reads: a task leaves the queue only after the dispatcher stored
// its delivery, so a delivery in neither place at the second read was
// lost, not finished in between.
func (p *pass) state(ctx context.Context, id string) (deliveryState, error) {
	if ok, err := p.stored(ctx, id); err != nil || ok {
		return settled, err
	}
	stream, err := p.queue.Where(ctx, id)
	switch {
	case err != nil:
		return settled, err
	case stream == queue.StreamDeadLetter:
		return settled, nil
	case stream != "":
		return inTransit, nil
	}
	if ok, err := p.stored(ctx, id); err != nil || ok {
		return settled, err
	}
	return lost, nil
}

func (p *pass) stored(ctx context.Context, id string) (bool, error) {
	_, err := p.store.DeliveryByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (p *pass) group(ctx context.Context, id string) (*model.Group, error) {
	if g, ok := p.groups[id]; ok {
		return g, nil
	}
	g, err := p.store.GetGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	p.groups[id] = g
	return g, nil
}

func (p *pass) app(ctx context.Context, ev *model.Event) (*model.Application, error) {
	if a, ok := p.apps[ev.AppID]; ok {
		return a, nil
	}
	a, err := p.store.GetApplication(ctx, ev.GroupID, ev.AppID)
	if err != nil {
		return nil, err
	}
	p.apps[ev.AppID] = a
	return a, nil
}

// endpointsAt returns the endpoints of ev's application that existed when
// ev was accepted: one created since would not have been planned then.
func (p *pass) endpointsAt(ctx context.Context, ev *model.Event) ([]model.Endpoint, error) {
	all, ok := p.endpoints[ev.AppID]
	if !ok {
		var err error
		if all, err = p.store.EndpointsOfApp(ctx, ev.AppID); err != nil {
			return nil, err
		}
		p.endpoints[ev.AppID] = all
	}
	var out []model.Endpoint
	for _, ep := range all {
		if !ep.CreatedAt.After(ev.CreatedAt) {
			out = append(out, ep)
		}
	}
	return out, nil
}
