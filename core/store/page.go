package store

import (
	"context"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Page asks for one page of a newest-first list.
type Page struct {
	// PerPage is the page size; callers validate it (1..100).
	PerPage int
	// Cursor is the last id of the previous page; empty for the first page.
	Cursor string
	// Number, when positive, asks for that 1-based page by offset instead
	// of by cursor, and for the total (Convoy v0.5's paging). Offsets cost a
	// skip and a count; cursors are what scale.
	Number int
	// Ascending lists oldest first; only with Number.
	Ascending bool
}

// PageInfo describes where a page ends.
type PageInfo struct {
	HasNext    bool
	NextCursor string
	// Total is the count of matching items, set when Number was asked for.
	Total int64
}

// findPage runs a newest-first keyset query: ids are ULIDs, so "older than the
// cursor" is `key < cursor`, which an index on (filter fields, key) serves
// without skipping. One extra document is read to learn whether a next page
// exists.
func findPage[T any](ctx context.Context, c *mongo.Collection, filter bson.D, key string, p Page, idOf func(*T) string, projection bson.D) ([]T, PageInfo, error) {
	if p.PerPage <= 0 {
		p.PerPage = 20
	}
	if p.Number > 0 {
		return findOffsetPage[T](ctx, c, filter, key, p, projection)
	}
	if p.Cursor != "" {
		filter = withBound(filter, key, "$lt", p.Cursor)
	}
	opts := options.Find().SetSort(bson.D{{Key: key, Value: -1}}).SetLimit(int64(p.PerPage + 1))
	if projection != nil {
		opts.SetProjection(projection)
	}
	cur, err := c.Find(ctx, filter, opts)
	if err != nil {
		return nil, PageInfo{}, fmt.Errorf("find in %s: %w", c.Name(), err)
	}
	var items []T
	if err := cur.All(ctx, &items); err != nil {
		return nil, PageInfo{}, fmt.Errorf("read %s: %w", c.Name(), err)
	}
	var info PageInfo
	if len(items) > p.PerPage {
		items = items[:p.PerPage]
		info.HasNext = true
		info.NextCursor = idOf(&items[len(items)-1])
	}
	return items, info, nil
}

// withBound adds `key op v` to filter, into key's own condition when it has
// one (a document may name a field only once).
func withBound(filter bson.D, key, op string, v any) bson.D {
	out := slices.Clone(filter)
	for i, e := range out {
		if cond, ok := e.Value.(bson.D); ok && e.Key == key {
			out[i].Value = append(slices.Clone(cond), bson.E{Key: op, Value: v})
			return out
		}
	}
	return append(out, bson.E{Key: key, Value: bson.D{{Key: op, Value: v}}})
}

// indexedPage is findPage for a store with an Index: ids asks the index for
// up to n ids below the cursor, and the page's documents are then read by
// `_id`. The next cursor is the page's last id as the index gave it, even if
// that document was deleted meanwhile, so paging stays exact.
func indexedPage[T any](ctx context.Context, s *Store, coll string, p Page, ids func(before string, n int) ([]string, error), inGroup func(*T) bool, projection bson.D) ([]T, PageInfo, error) {
	if p.PerPage <= 0 {
		p.PerPage = 20
	}
	got, err := ids(p.Cursor, p.PerPage+1)
	if err != nil {
		return nil, PageInfo{}, err
	}
	var info PageInfo
	if len(got) > p.PerPage {
		got = got[:p.PerPage]
		info.HasNext = true
		info.NextCursor = got[len(got)-1]
	}
	docs, err := findByIDs[T](ctx, s, coll, got, projection)
	if err != nil {
		return nil, PageInfo{}, err
	}
	return slices.DeleteFunc(docs, func(d T) bool { return !inGroup(&d) }), info, nil
}

// findOffsetPage answers page p.Number of the list and counts the total.
func findOffsetPage[T any](ctx context.Context, c *mongo.Collection, filter bson.D, key string, p Page, projection bson.D) ([]T, PageInfo, error) {
	order := -1
	if p.Ascending {
		order = 1
	}
	opts := options.Find().SetSort(bson.D{{Key: key, Value: order}}).
		SetSkip(int64(p.Number-1) * int64(p.PerPage)).SetLimit(int64(p.PerPage))
	if projection != nil {
		opts.SetProjection(projection)
	}
	total, err := c.CountDocuments(ctx, filter)
	if err != nil {
		return nil, PageInfo{}, fmt.Errorf("count %s: %w", c.Name(), err)
	}
	cur, err := c.Find(ctx, filter, opts)
	if err != nil {
		return nil, PageInfo{}, fmt.Errorf("find in %s: %w", c.Name(), err)
	}
	items := []T{}
	if err := cur.All(ctx, &items); err != nil {
		return nil, PageInfo{}, fmt.Errorf("read %s: %w", c.Name(), err)
	}
	return items, PageInfo{HasNext: int64(p.Number)*int64(p.PerPage) < total, Total: total}, nil
}
