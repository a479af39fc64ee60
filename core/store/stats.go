package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"convoy/core/endpointstats"
	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Endpoint statistics live in one collection per UTC day,
// "endpoint_stats_<yyyymmdd>", holding one document per endpoint (`_id` is
// the endpoint id) with that day's 5-minute slots:
//
//	{_id, group_id, day, slots: {"t0735": {success, failure, timeout, latency: {"b12": n, …}}, …}}
//
// so that every write is an upsert by `_id` and reading a day is one read by
// `_id`, the only lookups the embedded store does not scan for; and so that
// retention drops whole days, which costs nothing on either store, instead
// of deleting documents by a date filter (a scan of every day's document on
// the embedded store). The last success and failure of each endpoint, which
// may be older than any window asked for, are kept apart in
// "endpoint_stats" (one small document per endpoint).
const (
	statsDayPrefix  = "endpoint_stats_"
	statsDayLayout  = "20060102"
	collStatsLatest = "endpoint_stats"
)

func statsDayColl(day time.Time) string { return statsDayPrefix + day.UTC().Format(statsDayLayout) }

// slotKey names a slot by the UTC time it starts at ("t0735"); a letter
// first keeps dotted update paths from reading as array indexes.
func slotKey(slot int) string {
	m := slot * int(endpointstats.SlotSize/time.Minute)
	return fmt.Sprintf("t%02d%02d", m/60, m%60)
}

func slotOfKey(k string) (int, bool) {
	var h, m int
	if len(k) != 5 || k[0] != 't' {
		return 0, false
	}
	if _, err := fmt.Sscanf(k[1:], "%02d%02d", &h, &m); err != nil {
		return 0, false
	}
	slot := (h*60 + m) / int(endpointstats.SlotSize/time.Minute)
	return slot, slot >= 0 && slot < endpointstats.SlotsPerDay
}

// StatsUpdate is what to add to one endpoint's statistics of one UTC day.
type StatsUpdate struct {
	EndpointID string
	GroupID    string
	// Day is any time in the UTC day the slots belong to.
	Day   time.Time
	Slots map[int]*endpointstats.Cell
	// LastSuccessAt and LastFailureAt, when not zero, move the endpoint's
	// last success and last failure (a timeout is a failure) forward.
	LastSuccessAt, LastFailureAt time.Time
}

// AddEndpointStats adds the counts to the stored statistics with upserts by
// `_id` ($inc, $max), so that every replica adds its own and the totals stay
// exact. Updates apply in the order given, in bulk commands of at most
// maxBulk (one at a time per Store, each within one day's collection). It
// returns how many leading updates are known to be applied, so that a caller
// keeping counts for a retry keeps only the rest (an update whose write was
// lost in flight may be counted twice by such a retry).
func (s *Store) AddEndpointStats(ctx context.Context, updates []StatsUpdate) (int, error) {
	applied := 0
	for applied < len(updates) {
		c := statsDayColl(updates[applied].Day)
		end := applied + 1
		for end < len(updates) && end-applied < maxBulk && statsDayColl(updates[end].Day) == c {
			end++
		}
		models := make([]mongo.WriteModel, 0, end-applied)
		for _, u := range updates[applied:end] {
			models = append(models, statsModel(u))
		}
		s.bulkMu.Lock()
		_, err := s.coll(c).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
		s.bulkMu.Unlock()
		if err != nil {
			var bwe mongo.BulkWriteException
			if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 && bwe.WriteConcernError == nil {
				applied += bwe.WriteErrors[0].Index
			}
			return applied, fmt.Errorf("add endpoint stats: %w", err)
		}
		applied = end
	}
	return applied, s.touchLatest(ctx, updates)
}

func statsModel(u StatsUpdate) mongo.WriteModel {
	inc := bson.D{}
	slots := make([]int, 0, len(u.Slots))
	for slot := range u.Slots {
		slots = append(slots, slot)
	}
	slices.Sort(slots)
	for _, slot := range slots {
		c := u.Slots[slot]
		p := "slots." + slotKey(slot) + "."
		for _, f := range []struct {
			name string
			n    int64
		}{{endpointstats.Success, c.Success}, {endpointstats.Failure, c.Failure}, {endpointstats.Timeout, c.Timeout}} {
			if f.n != 0 {
				inc = append(inc, bson.E{Key: p + f.name, Value: f.n})
			}
		}
		for b, n := range c.Latency {
			if n != 0 {
				inc = append(inc, bson.E{Key: fmt.Sprintf("%slatency.b%d", p, b), Value: n})
			}
		}
	}
	day := endpointstats.Day(u.Day)
	update := bson.D{{Key: "$setOnInsert", Value: bson.D{
		{Key: "group_id", Value: u.GroupID}, {Key: "day", Value: day}, {Key: "created_at", Value: day},
	}}}
	if len(inc) > 0 {
		update = append(update, bson.E{Key: "$inc", Value: inc})
	}
	return mongo.NewUpdateOneModel().SetFilter(byID(u.EndpointID)).SetUpdate(update).SetUpsert(true)
}

// touchLatest moves each endpoint's last success and failure forward.
func (s *Store) touchLatest(ctx context.Context, updates []StatsUpdate) error {
	type last struct {
		group            string
		success, failure time.Time
	}
	latest := map[string]*last{}
	var order []string
	for _, u := range updates {
		if u.LastSuccessAt.IsZero() && u.LastFailureAt.IsZero() {
			continue
		}
		l, ok := latest[u.EndpointID]
		if !ok {
			l = &last{group: u.GroupID}
			latest[u.EndpointID] = l
			order = append(order, u.EndpointID)
		}
		if u.LastSuccessAt.After(l.success) {
			l.success = u.LastSuccessAt
		}
		if u.LastFailureAt.After(l.failure) {
			l.failure = u.LastFailureAt
		}
	}
	for start := 0; start < len(order); start += maxBulk {
		models := make([]mongo.WriteModel, 0, maxBulk)
		for _, id := range order[start:min(start+maxBulk, len(order))] {
			l := latest[id]
			maxes := bson.D{}
			if !l.success.IsZero() {
				maxes = append(maxes, bson.E{Key: "last_success_at", Value: l.success.UTC()})
			}
			if !l.failure.IsZero() {
				maxes = append(maxes, bson.E{Key: "last_failure_at", Value: l.failure.UTC()})
			}
			seen := l.success
			if l.failure.After(seen) {
				seen = l.failure
			}
			maxes = append(maxes, bson.E{Key: "updated_at", Value: seen.UTC()})
			models = append(models, mongo.NewUpdateOneModel().SetFilter(byID(id)).SetUpsert(true).SetUpdate(bson.D{
				{Key: "$setOnInsert", Value: bson.D{{Key: "group_id", Value: l.group}}},
				{Key: "$max", Value: maxes},
			}))
		}
		s.bulkMu.Lock()
		_, err := s.coll(collStatsLatest).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		s.bulkMu.Unlock()
		if err != nil {
			return fmt.Errorf("update endpoint last outcomes: %w", err)
		}
	}
	return nil
}

// StatsDay is one endpoint's statistics of one UTC day.
type StatsDay struct {
	Day   time.Time
	Slots map[int]*endpointstats.Cell
}

type statsDayDoc struct {
	Slots map[string]struct {
		Success int64            `bson:"success"`
		Failure int64            `bson:"failure"`
		Timeout int64            `bson:"timeout"`
		Latency map[string]int64 `bson:"latency"`
	} `bson:"slots"`
}

// EndpointStatsDays reads an endpoint's statistics of the UTC days from
// `from` to `to`, one read by `_id` per day; days without any are left out.
func (s *Store) EndpointStatsDays(ctx context.Context, endpointID string, from, to time.Time) ([]StatsDay, error) {
	var out []StatsDay
	for day := endpointstats.Day(from); !day.After(to); day = day.AddDate(0, 0, 1) {
		var doc statsDayDoc
		err := findByID(ctx, s.coll(statsDayColl(day)), endpointID, &doc)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read endpoint stats: %w", err)
		}
		sd := StatsDay{Day: day, Slots: map[int]*endpointstats.Cell{}}
		for k, v := range doc.Slots {
			slot, ok := slotOfKey(k)
			if !ok {
				continue
			}
			c := &endpointstats.Cell{Success: v.Success, Failure: v.Failure, Timeout: v.Timeout}
			for bk, n := range v.Latency {
				var b int
				if _, err := fmt.Sscanf(bk, "b%d", &b); err == nil && b >= 0 && b < endpointstats.Bins {
					c.Latency[b] += n
				}
			}
			sd.Slots[slot] = c
		}
		out = append(out, sd)
	}
	return out, nil
}

// EndpointLastOutcomes returns when an endpoint last succeeded and last
// failed (nil when never, or not within the statistics kept).
func (s *Store) EndpointLastOutcomes(ctx context.Context, endpointID string) (success, failure *time.Time, err error) {
	var doc struct {
		LastSuccessAt *time.Time `bson:"last_success_at"`
		LastFailureAt *time.Time `bson:"last_failure_at"`
	}
	err = findByID(ctx, s.coll(collStatsLatest), endpointID, &doc)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read endpoint last outcomes: %w", err)
	}
	return doc.LastSuccessAt, doc.LastFailureAt, nil
}

// CountPendingDeliveries counts an endpoint's stored deliveries that are not
// final (Scheduled, Processing or Retry). A real MongoDB answers it from the
// (endpoint_id, status, _id) index; the embedded store scans.
func (s *Store) CountPendingDeliveries(ctx context.Context, endpointID string) (int64, error) {
	n, err := s.coll(collDeliveries).CountDocuments(ctx, bson.D{
		{Key: "endpoint_id", Value: endpointID},
		{Key: "status", Value: bson.D{{Key: "$in", Value: []string{model.StatusScheduled, model.StatusProcessing, model.StatusRetry}}}},
	})
	if err != nil {
		return 0, fmt.Errorf("count pending deliveries: %w", err)
	}
	return n, nil
}

// DropEndpointStatsBefore drops the statistics of every UTC day before
// cutoff's day, and the last outcomes of endpoints with none since cutoff,
// and reports how many days it dropped.
func (s *Store) DropEndpointStatsBefore(ctx context.Context, cutoff time.Time) (int, error) {
	names, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return 0, fmt.Errorf("list collections: %w", err)
	}
	keepFrom := statsDayColl(endpointstats.Day(cutoff))
	dropped := 0
	for _, n := range names {
		day, ok := strings.CutPrefix(n, statsDayPrefix)
		if !ok {
			continue
		}
		if _, err := time.Parse(statsDayLayout, day); err != nil || n >= keepFrom {
			continue
		}
		if err := s.coll(n).Drop(ctx); err != nil {
			return dropped, fmt.Errorf("drop %s: %w", n, err)
		}
		dropped++
	}
	// A small collection (one document per endpoint), scanned once a pass.
	if _, err := s.coll(collStatsLatest).DeleteMany(ctx, bson.D{{Key: "updated_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}}); err != nil {
		return dropped, fmt.Errorf("delete old endpoint last outcomes: %w", err)
	}
	return dropped, nil
}
