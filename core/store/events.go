package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"convoy/core/ids"
	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func now() time.Time { return time.Now().UTC() }

// InsertEvents stores events in one round trip. Events already stored (same
// id) are left as they are, so a retried batch is harmless.
func (s *Store) InsertEvents(ctx context.Context, events []model.Event) error {
	if len(events) == 0 {
		return nil
	}
	_, err := s.coll(collEvents).InsertMany(ctx, events, options.InsertMany().SetOrdered(false))
	if err != nil && !isOnlyDuplicates(err) {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

// GetEvent loads an event of a group.
func (s *Store) GetEvent(ctx context.Context, groupID, id string) (*model.Event, error) {
	var e model.Event
	if err := findByID(ctx, s.coll(collEvents), id, &e); err != nil {
		return nil, err
	}
	if e.GroupID != groupID {
		return nil, ErrNotFound
	}
	return &e, nil
}

// EventFilter narrows an event list; zero fields match everything.
type EventFilter struct {
	AppID     string
	EventType string
	Start     time.Time
	End       time.Time
	// IdempotencyKey selects the one event accepted with that key.
	IdempotencyKey string
}

// ListEvents lists a group's events newest first. An event's created_at must
// be its id's time (ingest makes both at once; see ids.At): a time range is
// served as an `_id` range.
func (s *Store) ListEvents(ctx context.Context, groupID string, f EventFilter, p Page) ([]model.Event, PageInfo, error) {
	c := s.coll(collEvents)
	if f.IdempotencyKey != "" {
		return s.eventOfKey(ctx, groupID, f, p)
	}
	if s.index != nil && p.Number == 0 {
		return indexedPage(ctx, s, collEvents, p, func(before string, n int) ([]string, error) {
			return s.index.EventIDs(ctx, groupID, f, before, n)
		}, func(e *model.Event) bool { return e.GroupID == groupID }, nil)
	}
	return findPage(ctx, c, f.bson(groupID), "_id", p, func(e *model.Event) string { return e.UID }, nil)
}

// eventOfKey answers a list by idempotency key: the key's claim names its
// event (two reads by `_id`, whatever the history), which is listed if it
// matches the other filters too. It is the whole list: a later page is
// empty.
func (s *Store) eventOfKey(ctx context.Context, groupID string, f EventFilter, p Page) ([]model.Event, PageInfo, error) {
	if p.Cursor != "" || p.Number > 1 {
		return nil, PageInfo{}, nil
	}
	var claim idempotencyDoc
	err := findByID(ctx, s.coll(collIdempotency), groupID+":"+f.IdempotencyKey, &claim)
	if errors.Is(err, ErrNotFound) {
		return nil, PageInfo{}, nil
	}
	if err != nil {
		return nil, PageInfo{}, fmt.Errorf("read idempotency key: %w", err)
	}
	var ev model.Event
	err = findByID(ctx, s.coll(collEvents), claim.EventID, &ev)
	if errors.Is(err, ErrNotFound) {
		return nil, PageInfo{}, nil // claimed, not yet stored
	}
	if err != nil {
		return nil, PageInfo{}, fmt.Errorf("read event: %w", err)
	}
	if ev.GroupID != groupID || (f.AppID != "" && ev.AppID != f.AppID) || (f.EventType != "" && ev.EventType != f.EventType) ||
		(!f.Start.IsZero() && ev.CreatedAt.Before(f.Start)) || (!f.End.IsZero() && ev.CreatedAt.After(f.End)) {
		return nil, PageInfo{}, nil
	}
	info := PageInfo{}
	if p.Number > 0 {
		info.Total = 1
	}
	return []model.Event{ev}, info, nil
}

// bson is the MongoDB filter of a group's events that f selects.
func (f EventFilter) bson(groupID string) bson.D {
	filter := bson.D{{Key: "group_id", Value: groupID}}
	if f.AppID != "" {
		filter = append(filter, bson.E{Key: "app_id", Value: f.AppID})
	}
	if f.EventType != "" {
		filter = append(filter, bson.E{Key: "event_type", Value: f.EventType})
	}
	if !f.Start.IsZero() || !f.End.IsZero() {
		// An event's created_at is its id's time, so the range is an `_id`
		// range too, which the (group_id, _id) index serves.
		r, byID := bson.D{}, bson.D{}
		if !f.Start.IsZero() {
			r = append(r, bson.E{Key: "$gte", Value: f.Start})
			byID = append(byID, bson.E{Key: "$gte", Value: ids.AtOrAfter(f.Start)})
		}
		if !f.End.IsZero() {
			r = append(r, bson.E{Key: "$lte", Value: f.End})
			byID = append(byID, bson.E{Key: "$lte", Value: ids.AtOrBefore(f.End)})
		}
		filter = append(filter, bson.E{Key: "created_at", Value: r}, bson.E{Key: "_id", Value: byID})
	}
	return filter
}

// ClaimIdempotencyKey binds key, within a group, to eventID. When the key was
// already bound it returns the event id it was bound to and claimed=false.
// The binding's id is the group and the key, so the claim is a plain insert
// that at most one caller can win, on any MongoDB-compatible store.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, groupID, key, eventID string) (owner string, claimed bool, err error) {
	doc := idempotencyDoc{ID: groupID + ":" + key, GroupID: groupID, EventID: eventID, CreatedAt: now()}
	err = insertOne(ctx, s.coll(collIdempotency), doc)
	if err == nil {
		return eventID, true, nil
	}
	if !errors.Is(err, ErrDuplicate) {
		return "", false, err
	}
	var existing idempotencyDoc
	if err := findByID(ctx, s.coll(collIdempotency), doc.ID, &existing); err != nil {
		return "", false, fmt.Errorf("read idempotency key: %w", err)
	}
	return existing.EventID, false, nil
}

type idempotencyDoc struct {
	ID        string    `bson:"_id"`
	GroupID   string    `bson:"group_id"`
	EventID   string    `bson:"event_id"`
	CreatedAt time.Time `bson:"created_at"`
}

// DeleteOlderThan deletes up to limit documents of each kind of a group
// that are older than cutoff: events created before it, their deliveries
// (with attempts; a delivery's id carries its event's time), idempotency
// keys claimed before it and meta events. It reports how many it deleted in
// all. Callers loop until it returns 0, so deletes go in batches that leave
// room for live traffic.
func (s *Store) DeleteOlderThan(ctx context.Context, groupID string, cutoff time.Time, limit int) (int64, error) {
	var total int64
	for _, c := range []string{collDeliveries, collEvents, collIdempotency, collMetaEvents} {
		var n int64
		var err error
		switch del, direct := s.index.(IndexDeleter); {
		case s.index == nil || c == collMetaEvents: // meta events are few: no index of their own
			n, err = deleteBatch(ctx, s.coll(c), oldFilter(c, groupID, cutoff), limit)
		case direct:
			n, err = del.DeleteOld(ctx, c, groupID, cutoff, limit)
		default:
			n, err = s.deleteIndexed(ctx, c, groupID, cutoff, limit)
		}
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// IndexDeleter is an Index that also deletes what retention deletes, in
// its own files (see package sqliteindex for why that is safe there).
type IndexDeleter interface {
	Index
	// DeleteOld deletes up to limit documents of a group in collection that
	// retention deletes at cutoff (those OldIDs names), oldest first.
	DeleteOld(ctx context.Context, collection, groupID string, cutoff time.Time, limit int) (int64, error)
}

// oldFilter selects what retention deletes from a collection at cutoff.
// Events and deliveries go by `_id` (ids carry the event's time), which the
// (group_id, _id) index serves; idempotency keys and meta events by
// created_at.
func oldFilter(coll, groupID string, cutoff time.Time) bson.D {
	if coll != collEvents && coll != collDeliveries {
		return bson.D{{Key: "group_id", Value: groupID}, {Key: "created_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}}
	}
	return bson.D{{Key: "group_id", Value: groupID}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: ids.AtOrAfter(cutoff)}}}}
}

// deleteBatch deletes up to limit documents matching filter. For events and
// deliveries it is one DeleteMany over an `_id` range: the batch's last id
// is found first (an index walk of limit entries, oldest first), then
// everything from the group's oldest to it goes, through the same
// (group_id, _id) index. For the others it is a DeleteMany of the ids found
// through (group_id, created_at).
func deleteBatch(ctx context.Context, c *mongo.Collection, filter bson.D, limit int) (int64, error) {
	byID := c.Name() == collEvents || c.Name() == collDeliveries
	opts := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	if byID {
		opts.SetSort(bson.D{{Key: "_id", Value: 1}}) // group_id is fixed: the index gives this order
		opts.SetSkip(int64(limit - 1)).SetLimit(1)
	}
	cur, err := c.Find(ctx, filter, opts)
	if err != nil {
		return 0, fmt.Errorf("find old %s: %w", c.Name(), err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("read old %s: %w", c.Name(), err)
	}
	var del bson.D
	switch {
	case byID && len(docs) == 0:
		del = filter // fewer than limit left: all of them
	case byID:
		del = withBound(filter, "_id", "$lte", docs[0].ID)
	case len(docs) == 0:
		return 0, nil
	default:
		ids := make([]string, len(docs))
		for i, d := range docs {
			ids[i] = d.ID
		}
		del = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	}
	res, err := c.DeleteMany(ctx, del)
	if err != nil {
		return 0, fmt.Errorf("delete old %s: %w", c.Name(), err)
	}
	return res.DeletedCount, nil
}

// deleteIndexed deletes the batch the index names, each document by `_id`
// alone: on the embedded store an `$in` filter would scan the collection.
// Only an Index that cannot delete itself comes here.
func (s *Store) deleteIndexed(ctx context.Context, coll, groupID string, cutoff time.Time, limit int) (int64, error) {
	old, err := s.index.OldIDs(ctx, coll, groupID, cutoff, limit)
	if err != nil || len(old) == 0 {
		return 0, err
	}
	models := make([]mongo.WriteModel, len(old))
	for i, id := range old {
		models[i] = mongo.NewDeleteOneModel().SetFilter(byID(id))
	}
	res, err := s.coll(coll).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return 0, fmt.Errorf("delete old %s: %w", coll, err)
	}
	return res.DeletedCount, nil
}

// createdBetween is the filter element bounding created_at (both ends
// included), or nothing when both are zero.
func createdBetween(start, end time.Time) bson.D {
	if start.IsZero() && end.IsZero() {
		return nil
	}
	r := bson.D{}
	if !start.IsZero() {
		r = append(r, bson.E{Key: "$gte", Value: start})
	}
	if !end.IsZero() {
		r = append(r, bson.E{Key: "$lte", Value: end})
	}
	return bson.D{{Key: "created_at", Value: r}}
}
