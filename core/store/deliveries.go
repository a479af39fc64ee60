package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"convoy/core/ids"
	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// withoutAttempts keeps delivery reads light; attempts are read on their own.
var withoutAttempts = bson.D{{Key: "attempts", Value: 0}}

// maxBulk caps the writes in one bulk command. The embedded store (FerretDB
// v1) holds one pooled SQLite connection per update of a command until the
// command ends, and deadlocks once the commands in flight together need more
// than its 100: one command of 25 per process, at a time (see bulkMu), keeps
// several processes sharing one embedded store clear of that, at no cost in
// speed (the store applies updates one by one anyway).
const maxBulk = 25

// InsertDeliveries stores deliveries in one round trip. Deliveries already
// stored (same id) are left as they are, so a retried fan-out is harmless.
func (s *Store) InsertDeliveries(ctx context.Context, ds []model.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	_, err := s.coll(collDeliveries).InsertMany(ctx, ds, options.InsertMany().SetOrdered(false))
	if err != nil && !isOnlyDuplicates(err) {
		return fmt.Errorf("insert deliveries: %w", err)
	}
	return nil
}

// DeliveryByID loads a delivery, without its attempts, wherever it belongs.
func (s *Store) DeliveryByID(ctx context.Context, id string) (*model.Delivery, error) {
	var d model.Delivery
	if err := findByID(ctx, s.coll(collDeliveries), id, &d, options.FindOne().SetProjection(withoutAttempts)); err != nil {
		return nil, err
	}
	return &d, nil
}

// GetDelivery loads a delivery of a group, without its attempts.
func (s *Store) GetDelivery(ctx context.Context, groupID, id string) (*model.Delivery, error) {
	d, err := s.DeliveryByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.GroupID != groupID {
		return nil, ErrNotFound
	}
	return d, nil
}

// DeliveryAttempts returns every attempt of a delivery of a group, oldest first.
func (s *Store) DeliveryAttempts(ctx context.Context, groupID, id string) ([]model.Attempt, error) {
	var d model.Delivery
	if err := findByID(ctx, s.coll(collDeliveries), id, &d); err != nil {
		return nil, err
	}
	if d.GroupID != groupID {
		return nil, ErrNotFound
	}
	return d.Attempts, nil
}

// DeliveryFilter narrows a delivery list; zero fields match everything.
type DeliveryFilter struct {
	EventID    string
	AppID      string
	EndpointID string
	EventType  string
	Statuses   []string
	// Start and End bound created_at, both included; zero is unbounded.
	Start time.Time
	End   time.Time
}

func (f DeliveryFilter) bson(groupID string) bson.D {
	filter := bson.D{{Key: "group_id", Value: groupID}}
	for _, kv := range []struct{ k, v string }{{"event_id", f.EventID}, {"app_id", f.AppID}, {"endpoint_id", f.EndpointID}, {"event_type", f.EventType}} {
		if kv.v != "" {
			filter = append(filter, bson.E{Key: kv.k, Value: kv.v})
		}
	}
	if len(f.Statuses) > 0 {
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: f.Statuses}}})
	}
	filter = append(filter, createdBetween(f.Start, f.End)...)
	// The range of the (group_id, _id) walk: see StoreLag.
	byID := bson.D{}
	if !f.Start.IsZero() {
		byID = append(byID, bson.E{Key: "$gte", Value: ids.AtOrAfter(f.Start.Add(-StoreLag))})
	}
	if !f.End.IsZero() {
		byID = append(byID, bson.E{Key: "$lte", Value: ids.AtOrBefore(f.End)})
	}
	if len(byID) > 0 {
		filter = append(filter, bson.E{Key: "_id", Value: byID})
	}
	return filter
}

// StoreLag bounds how much earlier than its created_at a delivery's id (its
// event's time) may be. A delivery's created_at is its event's acceptance
// time, the id's own, wherever it is first stored (ingest, the dispatcher's
// first outcome, reconciliation); only a task queued before tasks carried
// that time was stored with the dispatcher's clock, a little later. So a
// created_at range is the `_id` range from Start less this to End: a
// newest-first page starts its walk at End, not a minute past it (a minute
// of a busy group is ~100,000 deliveries whose documents the walk would read).
const StoreLag = time.Minute

// ListDeliveries lists a group's deliveries newest first, without attempts.
func (s *Store) ListDeliveries(ctx context.Context, groupID string, f DeliveryFilter, p Page) ([]model.Delivery, PageInfo, error) {
	// The index serves cursor pages; numbered pages are read with the plain
	// query (a scan on the embedded store).
	if s.index != nil && p.Number == 0 {
		return indexedPage(ctx, s, collDeliveries, p, func(before string, n int) ([]string, error) {
			return s.index.DeliveryIDs(ctx, groupID, f, before, n)
		}, func(d *model.Delivery) bool { return d.GroupID == groupID }, withoutAttempts)
	}
	return findPage(ctx, s.coll(collDeliveries), f.bson(groupID), "_id", p,
		func(d *model.Delivery) string { return d.UID }, withoutAttempts)
}

// DeliveryUpdate is one state change of a delivery, written by `_id` alone.
type DeliveryUpdate struct {
	ID string
	// New, when set, is the whole delivery as this change leaves it, for a
	// delivery that may not be stored yet (its first attempt's outcome). It
	// is inserted; only if the delivery is already stored is the change
	// applied as an update.
	New    *model.Delivery
	Status string
	// Trials, when not nil, sets metadata.num_trials and next_send_time.
	Trials *Trials
	// Description, when not nil, replaces the delivery's description.
	Description *string
	// Attempt, when not nil, is appended to the delivery's attempts.
	Attempt *model.Attempt
	At      time.Time
}

// Trials is where a delivery stands in its attempt budget.
type Trials struct {
	NumTrials int32
	// NextSendTime is when the next attempt is due; nil once final.
	NextSendTime *time.Time
}

func (u DeliveryUpdate) model() mongo.WriteModel {
	set := bson.D{{Key: "status", Value: u.Status}, {Key: "updated_at", Value: u.At}}
	update := bson.D{}
	if u.Trials != nil {
		set = append(set, bson.E{Key: "metadata.num_trials", Value: u.Trials.NumTrials})
		if u.Trials.NextSendTime != nil {
			set = append(set, bson.E{Key: "metadata.next_send_time", Value: *u.Trials.NextSendTime})
		} else {
			update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "metadata.next_send_time", Value: ""}}})
		}
	}
	if u.Description != nil {
		set = append(set, bson.E{Key: "description", Value: *u.Description})
	}
	update = append(update, bson.E{Key: "$set", Value: set})
	if u.Attempt != nil {
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "attempts", Value: *u.Attempt}}})
	}
	return mongo.NewUpdateOneModel().SetFilter(byID(u.ID)).SetUpdate(update)
}

// UpdateDeliveries applies state changes. Changes that carry the whole
// delivery are inserted first, in one command: on the hot path a delivery is
// written once, with its first outcome, and an insert costs the embedded
// store a tenth of an update (which it applies as a read, a rewrite and a
// transaction per document). The other changes, and inserts that found the
// delivery stored, follow as updates by `_id` in bulk commands of at most
// maxBulk, one command at a time per Store; they apply in the order given.
func (s *Store) UpdateDeliveries(ctx context.Context, updates []DeliveryUpdate) error {
	updates, err := s.insertNew(ctx, updates)
	if err != nil {
		return err
	}
	for start := 0; start < len(updates); start += maxBulk {
		end := min(start+maxBulk, len(updates))
		models := make([]mongo.WriteModel, 0, end-start)
		for _, u := range updates[start:end] {
			models = append(models, u.model())
		}
		s.bulkMu.Lock()
		_, err := s.coll(collDeliveries).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
		s.bulkMu.Unlock()
		if err != nil {
			return fmt.Errorf("update deliveries: %w", err)
		}
	}
	return nil
}

// insertNew inserts the deliveries that changes carry whole and returns the
// changes still to apply as updates: those without a whole delivery, and
// those whose delivery was already stored.
func (s *Store) insertNew(ctx context.Context, updates []DeliveryUpdate) ([]DeliveryUpdate, error) {
	var docs []any
	var inserted []int // index in updates of each doc
	for i, u := range updates {
		if u.New != nil {
			docs = append(docs, u.New)
			inserted = append(inserted, i)
		}
	}
	if len(docs) == 0 {
		return updates, nil
	}
	_, err := s.coll(collDeliveries).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	stored := make(map[int]bool, len(docs)) // already stored: update instead
	if err != nil {
		if !isOnlyDuplicates(err) {
			return nil, fmt.Errorf("insert deliveries: %w", err)
		}
		var bwe mongo.BulkWriteException
		errors.As(err, &bwe)
		for _, we := range bwe.WriteErrors {
			stored[inserted[we.Index]] = true
		}
	}
	rest := updates[:0:0]
	for i, u := range updates {
		if u.New == nil || stored[i] {
			rest = append(rest, u)
		}
	}
	return rest, nil
}

// RestartDelivery gives a delivery a fresh attempt budget (a manual resend):
// it becomes Scheduled with no trials and its generation moves on, so the
// new attempts' queue message ids never collide with the old budget's. It
// returns the delivery as it is after the change.
func (s *Store) RestartDelivery(ctx context.Context, id string, retryLimit int32, strategy string, interval int64, ordered bool) (*model.Delivery, error) {
	at := now()
	update := bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "status", Value: model.StatusScheduled},
			{Key: "metadata.num_trials", Value: int32(0)},
			{Key: "metadata.retry_limit", Value: retryLimit},
			{Key: "metadata.strategy", Value: strategy},
			{Key: "metadata.interval_seconds", Value: interval},
			{Key: "metadata.next_send_time", Value: at},
			{Key: "description", Value: ""},
			{Key: "ordered", Value: ordered},
			{Key: "updated_at", Value: at},
		}},
		{Key: "$inc", Value: bson.D{{Key: "generation", Value: int32(1)}}},
	}
	// No projection: the embedded store does not support one on findAndModify.
	opts := options.FindOneAndUpdate().SetReturnDocument(options.After)
	var d model.Delivery
	err := s.coll(collDeliveries).FindOneAndUpdate(ctx, byID(id), update, opts).Decode(&d)
	if err == mongo.ErrNoDocuments {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("restart delivery: %w", err)
	}
	d.Attempts = nil
	return &d, nil
}

// OverdueDeliveries returns up to limit deliveries that are not final and
// whose next attempt was due before `before`: the candidates a sweep checks
// for work that was lost between a store write and a queue publish.
func (s *Store) OverdueDeliveries(ctx context.Context, before time.Time, limit int) ([]model.Delivery, error) {
	if s.index != nil {
		overdue, err := s.index.OverdueDeliveryIDs(ctx, before, limit)
		if err != nil {
			return nil, err
		}
		return s.deliveriesByID(ctx, overdue, func(d *model.Delivery) bool {
			return !model.IsFinal(d.Status) && d.Metadata.NextSendTime != nil && d.Metadata.NextSendTime.Before(before)
		})
	}
	cur, err := s.coll(collDeliveries).Find(ctx, overdueFilter(before), options.Find().SetLimit(int64(limit)).SetProjection(withoutAttempts))
	if err != nil {
		return nil, fmt.Errorf("find overdue deliveries: %w", err)
	}
	var out []model.Delivery
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read overdue deliveries: %w", err)
	}
	return out, nil
}

// overdueFilter selects the deliveries a sweep checks at `before`.
func overdueFilter(before time.Time) bson.D {
	return bson.D{
		{Key: "status", Value: bson.D{{Key: "$in", Value: []string{model.StatusScheduled, model.StatusProcessing, model.StatusRetry}}}},
		{Key: "metadata.next_send_time", Value: bson.D{{Key: "$lt", Value: before}}},
	}
}

// endpointFilter and endpointSort select an endpoint's deliveries in a
// status, oldest first.
func endpointFilter(endpointID, status string) bson.D {
	return bson.D{{Key: "endpoint_id", Value: endpointID}, {Key: "status", Value: status}}
}

var endpointSort = bson.D{{Key: "_id", Value: 1}}

// DeliveriesOfEndpoint returns up to limit deliveries of an endpoint in the
// given status, oldest first (for replaying what was held back).
func (s *Store) DeliveriesOfEndpoint(ctx context.Context, endpointID, status string, limit int) ([]model.Delivery, error) {
	if s.index != nil {
		found, err := s.index.EndpointDeliveryIDs(ctx, endpointID, status, limit)
		if err != nil {
			return nil, err
		}
		return s.deliveriesByID(ctx, found, func(d *model.Delivery) bool { return d.Status == status })
	}
	opts := options.Find().SetSort(endpointSort).SetLimit(int64(limit)).SetProjection(withoutAttempts)
	cur, err := s.coll(collDeliveries).Find(ctx, endpointFilter(endpointID, status), opts)
	if err != nil {
		return nil, fmt.Errorf("find endpoint deliveries: %w", err)
	}
	var out []model.Delivery
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read endpoint deliveries: %w", err)
	}
	return out, nil
}

// deliveriesByID reads the deliveries an index named, without attempts, and
// keeps those that still match: each may have changed since the index read.
func (s *Store) deliveriesByID(ctx context.Context, found []string, match func(*model.Delivery) bool) ([]model.Delivery, error) {
	ds, err := findByIDs[model.Delivery](ctx, s, collDeliveries, found, withoutAttempts)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ds, func(d model.Delivery) bool { return !match(&d) }), nil
}

// StoredDeliveries returns which of ids are stored deliveries: one query by
// `_id` (the index's on the embedded store) for the lot, reading no document.
func (s *Store) StoredDeliveries(ctx context.Context, ids []string) (map[string]bool, error) {
	if s.index != nil {
		return s.index.StoredIDs(ctx, collDeliveries, ids)
	}
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := s.coll(collDeliveries).Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find deliveries: %w", err)
	}
	var found []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &found); err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	for _, f := range found {
		out[f.ID] = true
	}
	return out, nil
}
