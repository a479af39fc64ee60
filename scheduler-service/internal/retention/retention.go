// Package retention deletes what is older than each group's retention
// policy: events, their deliveries (with attempts) and idempotency keys; and
// endpoint stats older than StatsRetention, whatever the group.
// FerretDB has no TTL indexes, and a TTL index could not read a per-group
// policy anyway, so this is a periodic job. Deletes go in small batches with
// a pause between them so live traffic keeps the store; they are idempotent,
// so several scheduler replicas may run them at once.
package retention

import (
	"context"
	"time"

	"convoy/core/model"
	"convoy/core/store"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Store lists groups and deletes old documents.
type Store interface {
	ListGroups(ctx context.Context, p store.Page) ([]model.Group, store.PageInfo, error)
	DeleteOlderThan(ctx context.Context, groupID string, cutoff time.Time, limit int) (int64, error)
	DropEndpointStatsBefore(ctx context.Context, cutoff time.Time) (int, error)
}

// StatsRetention is how long endpoint stats are kept (by whole UTC days).
const StatsRetention = 30 * 24 * time.Hour

// Options tune retention.
type Options struct {
	Interval time.Duration
	Batch    int
	Pause    time.Duration
}

// Enforcer runs retention passes.
type Enforcer struct {
	store   Store
	opts    Options
	log     *zap.Logger
	now     func() time.Time
	deleted prometheus.Counter
}

// New returns an Enforcer; it counts deleted documents on reg.
func New(st Store, opts Options, reg prometheus.Registerer, log *zap.Logger) *Enforcer {
	deleted := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "convoy_retention_deleted_total", Help: "Documents (events, deliveries, idempotency keys) deleted by retention.",
	})
	reg.MustRegister(deleted)
	return &Enforcer{store: st, opts: opts, log: log, now: time.Now, deleted: deleted}
}

// Run enforces every Interval until ctx ends.
func (e *Enforcer) Run(ctx context.Context) error {
	tick := time.NewTicker(e.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			n, err := e.Once(ctx)
			e.deleted.Add(float64(n))
			if err != nil {
				e.log.Warn("retention", zap.Error(err), zap.Int64("deleted", n))
			} else if n > 0 {
				e.log.Info("retention deleted old documents", zap.Int64("deleted", n))
			}
		}
	}
}

// Once runs one pass over every group and returns how many documents it
// deleted; it also drops the endpoint stats of days past StatsRetention.
func (e *Enforcer) Once(ctx context.Context) (int64, error) {
	if days, err := e.store.DropEndpointStatsBefore(ctx, e.now().Add(-StatsRetention)); err != nil {
		e.log.Warn("retention of endpoint stats", zap.Error(err))
	} else if days > 0 {
		e.log.Info("retention dropped old endpoint stats", zap.Int("days", days))
	}
	var total int64
	p := store.Page{PerPage: 100}
	for {
		groups, info, err := e.store.ListGroups(ctx, p)
		if err != nil {
			return total, err
		}
		for i := range groups {
			n, err := e.group(ctx, &groups[i])
			total += n
			if err != nil {
				return total, err
			}
		}
		if !info.HasNext {
			return total, nil
		}
		p.Cursor = info.NextCursor
	}
}

func (e *Enforcer) group(ctx context.Context, g *model.Group) (int64, error) {
	if g.Config.RetentionPolicy == "" {
		return 0, nil
	}
	keep, err := time.ParseDuration(g.Config.RetentionPolicy)
	if err != nil || keep <= 0 {
		e.log.Warn("ignoring invalid retention policy", zap.String("group_id", g.UID), zap.String("retention_policy", g.Config.RetentionPolicy))
		return 0, nil
	}
	cutoff := e.now().Add(-keep)
	var total int64
	for {
		n, err := e.store.DeleteOlderThan(ctx, g.UID, cutoff, e.opts.Batch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, nil
		case <-time.After(e.opts.Pause):
		}
	}
}
