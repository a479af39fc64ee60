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
// ordered), so a page reads PerPage+1 entries of the (group_id, _id) index
// on MongoDB, or of the SQLite index on the embedded store, whatever the
// log's length.
func (s *Store) ListAudit(ctx context.Context, groupID string, p Page) ([]model.AuditEntry, PageInfo, error) {
	c := s.coll(collAuditLog)
	if s.index != nil && p.Number == 0 {
		return indexedPage(ctx, s, collAuditLog, p, func(before string, n int) ([]string, error) {
			return s.index.AuditIDs(ctx, groupID, before, n)
		}, func(e *model.AuditEntry) bool { return groupID == "" || e.GroupID == groupID }, nil)
	}
	filter := bson.D{}
	if groupID != "" {
		filter = append(filter, bson.E{Key: "group_id", Value: groupID})
	}
	return findPage(ctx, c, filter, "_id", p,
		func(e *model.AuditEntry) string { return e.UID }, nil)
}
