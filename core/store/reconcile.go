package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"convoy/core/ids"
	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// collMarks keeps the progress marks of background passes (one document
// per pass, by `_id`), so that a restarted scheduler resumes where the last
// one stopped instead of looking at all of history again.
const collMarks = "marks"

// EventsCreatedBetween returns up to limit events of every group created
// from `from` to `to` (both included, to the millisecond) whose id sorts
// after `after` (empty: no such bound), oldest first. An event's id carries
// its creation time, so this is a range of `_id`, which the `_id` index
// serves on MongoDB (and the index's `_id` index on the embedded store): its
// cost follows the range, not the history.
func (s *Store) EventsCreatedBetween(ctx context.Context, from, to time.Time, after string, limit int) ([]model.Event, error) {
	if s.index != nil {
		found, err := s.index.EventIDsBetween(ctx, from, to, after, limit)
		if err != nil {
			return nil, err
		}
		return findByIDs[model.Event](ctx, s, collEvents, found, nil)
	}
	lower := bson.E{Key: "$gte", Value: ids.AtOrAfter(from)}
	if a := ids.AtOrAfter(from); after >= a {
		lower = bson.E{Key: "$gt", Value: after}
	}
	filter := bson.D{{Key: "_id", Value: bson.D{lower, {Key: "$lte", Value: ids.AtOrBefore(to)}}}}
	cur, err := s.coll(collEvents).Find(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("find events by time: %w", err)
	}
	var out []model.Event
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read events by time: %w", err)
	}
	return out, nil
}

type markDoc struct {
	ID        string    `bson:"_id"`
	Value     string    `bson:"value"`
	UpdatedAt time.Time `bson:"updated_at"`
}

// Mark returns the progress mark of a pass, or "" when it has none yet.
func (s *Store) Mark(ctx context.Context, name string) (string, error) {
	var m markDoc
	err := findByID(ctx, s.coll(collMarks), name, &m)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read mark %s: %w", name, err)
	}
	return m.Value, nil
}

// SetMark records the progress mark of a pass (an upsert by `_id`).
func (s *Store) SetMark(ctx context.Context, name, value string) error {
	_, err := s.coll(collMarks).ReplaceOne(ctx, byID(name), markDoc{ID: name, Value: value, UpdatedAt: now()},
		options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("write mark %s: %w", name, err)
	}
	return nil
}
