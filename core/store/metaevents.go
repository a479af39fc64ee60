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

// A meta event is written like a delivery: inserted once, with the outcome
// of its first attempt, then updated by `_id` alone.

// InsertMetaEvent stores a new meta event; ErrDuplicate when it is stored.
func (s *Store) InsertMetaEvent(ctx context.Context, m *model.MetaEvent) error {
	return insertOne(ctx, s.coll(collMetaEvents), m)
}

// MetaEventByID loads a meta event, without its attempts, wherever it belongs.
func (s *Store) MetaEventByID(ctx context.Context, id string) (*model.MetaEvent, error) {
	var m model.MetaEvent
	if err := findByID(ctx, s.coll(collMetaEvents), id, &m, options.FindOne().SetProjection(withoutAttempts)); err != nil {
		return nil, err
	}
	return &m, nil
}

// GetMetaEvent loads a meta event of a group with its attempts.
func (s *Store) GetMetaEvent(ctx context.Context, groupID, id string) (*model.MetaEvent, error) {
	var m model.MetaEvent
	if err := findByID(ctx, s.coll(collMetaEvents), id, &m); err != nil {
		return nil, err
	}
	if m.GroupID != groupID {
		return nil, ErrNotFound
	}
	return &m, nil
}

// ListMetaEvents lists a group's meta events newest first, without attempts.
func (s *Store) ListMetaEvents(ctx context.Context, groupID string, p Page) ([]model.MetaEvent, PageInfo, error) {
	return findPage(ctx, s.coll(collMetaEvents), bson.D{{Key: "group_id", Value: groupID}}, "_id", p,
		func(m *model.MetaEvent) string { return m.UID }, withoutAttempts)
}

// MetaEventUpdate is one state change of a stored meta event.
type MetaEventUpdate struct {
	ID        string
	Status    string
	NumTrials int32
	// NextSendTime is when the next attempt is due; nil once final.
	NextSendTime *time.Time
	// Attempt, when not nil, is appended to the meta event's attempts.
	Attempt *model.Attempt
	At      time.Time
}

// UpdateMetaEvent applies a state change by `_id`.
func (s *Store) UpdateMetaEvent(ctx context.Context, u MetaEventUpdate) error {
	set := bson.D{
		{Key: "status", Value: u.Status},
		{Key: "metadata.num_trials", Value: u.NumTrials},
		{Key: "updated_at", Value: u.At},
	}
	update := bson.D{}
	if u.NextSendTime != nil {
		set = append(set, bson.E{Key: "metadata.next_send_time", Value: *u.NextSendTime})
	} else {
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "metadata.next_send_time", Value: ""}}})
	}
	update = append(update, bson.E{Key: "$set", Value: set})
	if u.Attempt != nil {
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "attempts", Value: *u.Attempt}}})
	}
	res, err := s.coll(collMetaEvents).UpdateOne(ctx, byID(u.ID), update)
	if err != nil {
		return fmt.Errorf("update meta event: %w", err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// RestartMetaEvent gives a meta event a fresh attempt budget (a manual
// resend): it becomes Scheduled with no trials and its generation moves on,
// so the new budget's queue message never collides with the old one's. It
// returns the meta event as it is after the change, without attempts.
func (s *Store) RestartMetaEvent(ctx context.Context, id string, retryLimit int32) (*model.MetaEvent, error) {
	at := now()
	update := bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "status", Value: model.StatusScheduled},
			{Key: "metadata.num_trials", Value: int32(0)},
			{Key: "metadata.retry_limit", Value: retryLimit},
			{Key: "metadata.next_send_time", Value: at},
			{Key: "updated_at", Value: at},
		}},
		{Key: "$inc", Value: bson.D{{Key: "generation", Value: int32(1)}}},
	}
	opts := options.FindOneAndUpdate().SetReturnDocument(options.After)
	var m model.MetaEvent
	err := s.coll(collMetaEvents).FindOneAndUpdate(ctx, byID(id), update, opts).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("restart meta event: %w", err)
	}
	m.Attempts = nil
	return &m, nil
}
