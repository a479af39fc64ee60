package store

import (
	"context"
	"errors"
	"fmt"
	"time"

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
}

// ListEvents lists a group's events newest first.
func (s *Store) ListEvents(ctx context.Context, groupID string, f EventFilter, p Page) ([]model.Event, PageInfo, error) {
	filter := bson.D{{Key: "group_id", Value: groupID}}
	if f.AppID != "" {
		filter = append(filter, bson.E{Key: "app_id", Value: f.AppID})
	}
	if f.EventType != "" {
		filter = append(filter, bson.E{Key: "event_type", Value: f.EventType})
	}
	filter = append(filter, createdBetween(f.Start, f.End)...)
	return findPage(ctx, s.coll(collEvents), filter, "_id", p, func(e *model.Event) string { return e.UID }, nil)
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

// DeleteOlderThan deletes up to limit documents of a group created before
// cutoff from events, their deliveries (with attempts), idempotency keys and
// meta events, and reports how many it deleted in all. Callers loop until it
// returns 0, so deletes go in small batches that leave room for live traffic.
func (s *Store) DeleteOlderThan(ctx context.Context, groupID string, cutoff time.Time, limit int) (int64, error) {
	var total int64
	for _, c := range []string{collDeliveries, collEvents, collIdempotency, collMetaEvents} {
		n, err := deleteBatch(ctx, s.coll(c), bson.D{
			{Key: "group_id", Value: groupID},
			{Key: "created_at", Value: bson.D{{Key: "$lt", Value: cutoff}}},
		}, limit)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func deleteBatch(ctx context.Context, c *mongo.Collection, filter bson.D, limit int) (int64, error) {
	cur, err := c.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return 0, fmt.Errorf("find old %s: %w", c.Name(), err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("read old %s: %w", c.Name(), err)
	}
	if len(docs) == 0 {
		return 0, nil
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	res, err := c.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return 0, fmt.Errorf("delete old %s: %w", c.Name(), err)
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
