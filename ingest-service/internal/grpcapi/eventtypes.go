package grpcapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/ingest-service/internal/catalog"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxSchemaBytes bounds an event type's schema and its example.
const maxSchemaBytes = 64 << 10

// catalogEntry is an event type as enforcement reads it.
type catalogEntry struct {
	schema *catalog.Schema // nil: any payload
}

// checkCatalog refuses, when the group enforces its catalog, an event of a
// type not in it or whose payload fails the type's schema.
func (s *Server) checkCatalog(ctx context.Context, g *model.Group, ev *model.Event) error {
	if !g.Config.EnforceEventTypes {
		return nil
	}
	types, err := s.catalogs.Get(ctx, g.UID, func(ctx context.Context) (map[string]catalogEntry, error) {
		return s.loadCatalog(ctx, g.UID)
	})
	if err != nil {
		return err
	}
	t, ok := types[ev.EventType]
	if !ok {
		return invalidf("event_type %q is not in the group's event-type catalog (config.enforce_event_types is on)", ev.EventType)
	}
	if t.schema == nil {
		return nil
	}
	if err := t.schema.Validate(ev.Data); err != nil {
		return invalidf("data does not match the schema of event type %q: %v", ev.EventType, err)
	}
	return nil
}

func (s *Server) loadCatalog(ctx context.Context, groupID string) (map[string]catalogEntry, error) {
	types, err := s.store.EventTypesOfGroup(ctx, groupID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]catalogEntry, len(types))
	for i := range types {
		t := &types[i]
		var e catalogEntry
		if t.Schema != "" {
			sch, err := s.schemas.get(t.Schema, compileSchema)
			if err != nil {
				// Stored schemas compiled when they were set: refuse nothing
				// because of one that no longer does.
				s.log.Warn("stored event type schema does not compile", zap.String("event_type_id", t.UID), zap.Error(err))
			}
			e.schema = sch
		}
		out[t.Name] = e
	}
	return out, nil
}

// eventTypeJSON validates an optional JSON field and returns it compact, or
// "" when unset.
func eventTypeJSON(field string, raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if len(raw) > maxSchemaBytes {
		return "", invalidf("%s must be at most %d bytes", field, maxSchemaBytes)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", invalidf("%s must be valid JSON", field)
	}
	return b.String(), nil
}

// setEventType validates and applies an event type's settings.
func setEventType(t *model.EventType, name, description string, schema, example []byte, deprecated bool) error {
	name = strings.TrimSpace(name)
	if err := validateName("name", name); err != nil {
		return err
	}
	if len(description) > 1000 {
		return invalidf("description must be at most 1000 characters")
	}
	sch, err := eventTypeJSON("schema", schema)
	if err != nil {
		return err
	}
	ex, err := eventTypeJSON("example", example)
	if err != nil {
		return err
	}
	if sch != "" {
		compiled, err := catalog.Compile([]byte(sch))
		if err != nil {
			return invalidf("schema does not compile: %v", err)
		}
		if ex != "" {
			if err := compiled.Validate([]byte(ex)); err != nil {
				return invalidf("example does not match the schema: %v", err)
			}
		}
	}
	t.Name, t.Description, t.Schema, t.Example, t.Deprecated = name, strings.TrimSpace(description), sch, ex, deprecated
	return nil
}

func (s *Server) eventTypeStatus(ctx context.Context, t *model.EventType, err error) error {
	if errors.Is(err, store.ErrDuplicate) {
		return status.Error(codes.AlreadyExists, fmt.Sprintf("an event type named %q already exists in this group", t.Name))
	}
	return s.toStatus(ctx, "event type", err)
}

// CreateEventType adds an event type to the group's catalog.
func (s *Server) CreateEventType(ctx context.Context, req *ingestv1.CreateEventTypeRequest) (*ingestv1.EventType, error) {
	if _, err := s.group(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	at := now()
	t := &model.EventType{UID: ids.New(), GroupID: req.GroupId, CreatedAt: at, UpdatedAt: at}
	if err := setEventType(t, req.Name, req.Description, req.Schema, req.Example, req.Deprecated); err != nil {
		return nil, s.toStatus(ctx, "event type", err)
	}
	if err := s.store.CreateEventType(ctx, t); err != nil {
		return nil, s.eventTypeStatus(ctx, t, err)
	}
	s.audit(ctx, t.GroupID, "create", "event_type", t.UID, "", auditDocument(t))
	s.catalogs.Forget(t.GroupID)
	return eventTypePB(t), nil
}

// ListEventTypes lists the group's catalog, newest first.
func (s *Server) ListEventTypes(ctx context.Context, req *ingestv1.ListEventTypesRequest) (*ingestv1.ListEventTypesResponse, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "event type", err)
	}
	types, info, err := s.store.ListEventTypes(ctx, req.GroupId, p)
	if err != nil {
		return nil, s.toStatus(ctx, "event type", err)
	}
	out := &ingestv1.ListEventTypesResponse{Page: pageInfo(p, info)}
	for i := range types {
		out.EventTypes = append(out.EventTypes, eventTypePB(&types[i]))
	}
	return out, nil
}

// GetEventType returns one event type.
func (s *Server) GetEventType(ctx context.Context, req *ingestv1.GetEventTypeRequest) (*ingestv1.EventType, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	t, err := s.store.GetEventType(ctx, req.GroupId, req.EventTypeId)
	if err != nil {
		return nil, s.toStatus(ctx, "event type", err)
	}
	return eventTypePB(t), nil
}

// UpdateEventType changes the fields that are set.
func (s *Server) UpdateEventType(ctx context.Context, req *ingestv1.UpdateEventTypeRequest) (*ingestv1.EventType, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	t, err := s.store.GetEventType(ctx, req.GroupId, req.EventTypeId)
	if err != nil {
		return nil, s.toStatus(ctx, "event type", err)
	}
	oldName := t.Name
	before := auditDocument(t)
	name, description, schema, example, deprecated := t.Name, t.Description, []byte(t.Schema), []byte(t.Example), t.Deprecated
	if req.Name != nil {
		name = *req.Name
	}
	if req.Description != nil {
		description = *req.Description
	}
	if req.Schema != nil {
		schema = req.Schema
	}
	if req.Example != nil {
		example = req.Example
	}
	if req.Deprecated != nil {
		deprecated = *req.Deprecated
	}
	if err := setEventType(t, name, description, schema, example, deprecated); err != nil {
		return nil, s.toStatus(ctx, "event type", err)
	}
	t.UpdatedAt = now()
	if err := s.store.ReplaceEventType(ctx, t, oldName); err != nil {
		return nil, s.eventTypeStatus(ctx, t, err)
	}
	s.audit(ctx, t.GroupID, "update", "event_type", t.UID, before, auditDocument(t))
	s.catalogs.Forget(t.GroupID)
	return eventTypePB(t), nil
}

// DeleteEventType removes an event type from the catalog.
func (s *Server) DeleteEventType(ctx context.Context, req *ingestv1.DeleteEventTypeRequest) (*ingestv1.DeleteEventTypeResponse, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	t, err := s.store.GetEventType(ctx, req.GroupId, req.EventTypeId)
	if err != nil {
		return nil, s.toStatus(ctx, "event type", err)
	}
	if err := s.store.DeleteEventType(ctx, req.GroupId, req.EventTypeId); err != nil {
		return nil, s.toStatus(ctx, "event type", err)
	}
	s.audit(ctx, t.GroupID, "delete", "event_type", t.UID, auditDocument(t), "")
	s.catalogs.Forget(req.GroupId)
	return &ingestv1.DeleteEventTypeResponse{}, nil
}

func eventTypePB(t *model.EventType) *ingestv1.EventType {
	return &ingestv1.EventType{
		Uid: t.UID, GroupId: t.GroupID, Name: t.Name, Description: t.Description,
		Schema: []byte(t.Schema), Example: []byte(t.Example), Deprecated: t.Deprecated,
		CreatedAt: ts(t.CreatedAt), UpdatedAt: ts(t.UpdatedAt),
	}
}
