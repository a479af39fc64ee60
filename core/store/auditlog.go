package store

import (
	"context"

	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// AppendAudit records one entry. There is no update or delete: the log is
// append-only, and it outlives the group it speaks of.
func (s *Store) AppendAudit(ctx context.Context, e *model.AuditEntry) error {
	return insertOne(ctx, s.coll(collAuditLog), e)
}

// ListAudit lists a group's entries newest first, or every group's when
// groupID is empty. The cursor is an `_id` bound (ids are ULIDs, so time
// ordered) and a page reads PerPage+1 documents from the (group_id, _id)
// index on MongoDB. The embedded store scans the collection for a group's
// page; the log grows only with configuration changes, not with traffic.
func (s *Store) ListAudit(ctx context.Context, groupID string, p Page) ([]model.AuditEntry, PageInfo, error) {
	filter := bson.D{}
	if groupID != "" {
		filter = append(filter, bson.E{Key: "group_id", Value: groupID})
	}
	return findPage(ctx, s.coll(collAuditLog), filter, "_id", p,
		func(e *model.AuditEntry) string { return e.UID }, nil)
}
