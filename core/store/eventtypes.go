package store

import (
	"context"
	"errors"
	"fmt"

	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// eventTypeName is a catalog name's claim: its `_id` is unique.
type eventTypeName struct {
	ID      string `bson:"_id"`
	GroupID string `bson:"group_id"`
	UID     string `bson:"event_type_id"`
}

func nameKey(groupID, name string) string { return groupID + "/" + name }

// CreateEventType stores a new catalog entry; ErrDuplicate when the group
// already has the name.
func (s *Store) CreateEventType(ctx context.Context, t *model.EventType) error {
	if err := s.claimEventTypeName(ctx, t); err != nil {
		return err
	}
	if err := insertOne(ctx, s.coll(collEventTypes), t); err != nil {
		s.releaseEventTypeName(ctx, t.GroupID, t.Name, t.UID)
		return err
	}
	return nil
}

// GetEventType loads a catalog entry of a group.
func (s *Store) GetEventType(ctx context.Context, groupID, id string) (*model.EventType, error) {
	var t model.EventType
	if err := findByID(ctx, s.coll(collEventTypes), id, &t); err != nil {
		return nil, err
	}
	if t.GroupID != groupID {
		return nil, ErrNotFound
	}
	return &t, nil
}

// ListEventTypes lists a group's catalog newest first.
func (s *Store) ListEventTypes(ctx context.Context, groupID string, p Page) ([]model.EventType, PageInfo, error) {
	return findPage(ctx, s.coll(collEventTypes), bson.D{{Key: "group_id", Value: groupID}}, "_id", p,
		func(t *model.EventType) string { return t.UID }, nil)
}

// EventTypesOfGroup returns the whole catalog of a group (for enforcement).
func (s *Store) EventTypesOfGroup(ctx context.Context, groupID string) ([]model.EventType, error) {
	return findAll[model.EventType](ctx, s, collEventTypes, FieldValue{"group_id", groupID})
}

// ReplaceEventType writes a catalog entry's new state; oldName is its name
// before the change. A rename claims the new name first (ErrDuplicate when
// taken) and releases the old one after.
func (s *Store) ReplaceEventType(ctx context.Context, t *model.EventType, oldName string) error {
	renamed := t.Name != oldName
	if renamed {
		if err := s.claimEventTypeName(ctx, t); err != nil {
			return err
		}
	}
	if err := replaceByID(ctx, s.coll(collEventTypes), t.UID, t); err != nil {
		if renamed {
			s.releaseEventTypeName(ctx, t.GroupID, t.Name, t.UID)
		}
		return err
	}
	if renamed {
		s.releaseEventTypeName(ctx, t.GroupID, oldName, t.UID)
	}
	return nil
}

// DeleteEventType deletes a catalog entry and frees its name.
func (s *Store) DeleteEventType(ctx context.Context, groupID, id string) error {
	t, err := s.GetEventType(ctx, groupID, id)
	if err != nil {
		return err
	}
	if err := deleteByID(ctx, s.coll(collEventTypes), id); err != nil {
		return err
	}
	s.releaseEventTypeName(ctx, groupID, t.Name, id)
	return nil
}

// claimEventTypeName takes t's name in its group. A claim left by an entry
// that no longer exists (a crash between the two writes) is taken over.
func (s *Store) claimEventTypeName(ctx context.Context, t *model.EventType) error {
	claim := eventTypeName{ID: nameKey(t.GroupID, t.Name), GroupID: t.GroupID, UID: t.UID}
	err := insertOne(ctx, s.coll(collEventTypeNames), claim)
	if !errors.Is(err, ErrDuplicate) {
		return err
	}
	var held eventTypeName
	if err := findByID(ctx, s.coll(collEventTypeNames), claim.ID, &held); err != nil {
		return fmt.Errorf("read event type name: %w", err)
	}
	if held.UID == t.UID {
		return nil
	}
	var owner model.EventType
	switch err := findByID(ctx, s.coll(collEventTypes), held.UID, &owner); {
	case err == nil && owner.Name == t.Name:
		return ErrDuplicate
	case err != nil && !errors.Is(err, ErrNotFound):
		return err
	}
	return replaceByID(ctx, s.coll(collEventTypeNames), claim.ID, claim)
}

// releaseEventTypeName frees a name if uid still holds it. It is best
// effort: a claim left behind is taken over by the next one.
func (s *Store) releaseEventTypeName(ctx context.Context, groupID, name, uid string) {
	var held eventTypeName
	key := nameKey(groupID, name)
	if err := findByID(ctx, s.coll(collEventTypeNames), key, &held); err != nil || held.UID != uid {
		return
	}
	_ = deleteByID(ctx, s.coll(collEventTypeNames), key)
}
