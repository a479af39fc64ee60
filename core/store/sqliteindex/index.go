package sqliteindex

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"convoy/core/ids"
	"convoy/core/store"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", the one FerretDB itself uses
)

// collectionsTable is FerretDB's per-database catalogue (columns name, table_name, settings).
const collectionsTable = "_ferretdb_collections"

// Index reads the list indexes of one FerretDB database; it implements
// store.Index. It is safe for concurrent use.
type Index struct {
	db *sql.DB

	mu     sync.Mutex
	tables map[string]string // collection name → table name, nil until read
}

// Open opens the SQLite file of database name in dir, FerretDB's SQLite
// folder, for reading. The file must exist (FerretDB creates it with the
// database's first collection).
func Open(dir, name string) (*Index, error) {
	file := filepath.Join(dir, name+".sqlite")
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("open sqlite index: %w", err)
	}
	// Read-only, next to FerretDB's own connections: WAL lets readers in
	// other processes see every committed write without blocking it.
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("open sqlite index: %w", err)
	}
	db.SetMaxOpenConns(4)
	// An idle connection keeps FerretDB's WAL from being reset; let go soon.
	db.SetConnMaxIdleTime(30 * time.Second)
	return &Index{db: db}, nil
}

// Close closes the file.
func (ix *Index) Close() error { return ix.db.Close() }

// Tables reads which table holds each collection of an open database file.
func Tables(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT name, table_name FROM %q`, collectionsTable))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, table string
		if err := rows.Scan(&name, &table); err != nil {
			return nil, err
		}
		out[name] = table
	}
	return out, rows.Err()
}

// table returns the table of a collection, reading the catalogue when the
// collection is new to it. A collection not created yet has no table: the
// query has nothing to find.
func (ix *Index) table(ctx context.Context, coll string, fresh bool) (string, bool, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if t, ok := ix.tables[coll]; ok && !fresh {
		return t, true, nil
	}
	tables, err := Tables(ctx, ix.db)
	if err != nil {
		return "", false, fmt.Errorf("read collections: %w", err)
	}
	ix.tables = tables
	t, ok := tables[coll]
	return t, ok, nil
}

// query builds one SELECT of ids from a collection: conditions joined by
// AND, with their arguments.
type query struct {
	conds []string
	args  []any
	order string // "DESC", "ASC" or empty
	limit int
}

// indexed adds an equality the query should be served by; the index
// expression must appear in the condition exactly.
func (q *query) indexed(path string, v any) {
	q.conds = append(q.conds, column(path)+" = ?")
	q.args = append(q.args, v)
}

// checked adds a condition tested on each row the index yields. The unary
// plus makes the expression differ from every index's, so SQLite never
// picks a less selective index for it than the one chosen.
func (q *query) checked(path, op string, v any) {
	q.conds = append(q.conds, "+("+column(path)+") "+op+" ?")
	q.args = append(q.args, v)
}

// idRange bounds `_id`, which ends every index and so narrows its scan.
func (q *query) idRange(op, v string) {
	q.conds = append(q.conds, column("_id")+" "+op+" ?")
	q.args = append(q.args, v)
}

func (ix *Index) ids(ctx context.Context, coll string, q query) ([]string, error) {
	table, ok, err := ix.table(ctx, coll, false)
	if err != nil || !ok {
		return nil, err
	}
	out, err := ix.run(ctx, table, q)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		// The collection was dropped and created again under a new table.
		if table, ok, err = ix.table(ctx, coll, true); err != nil || !ok {
			return nil, err
		}
		out, err = ix.run(ctx, table, q)
	}
	if err != nil {
		return nil, fmt.Errorf("query %s index: %w", coll, err)
	}
	return out, nil
}

func (ix *Index) run(ctx context.Context, table string, q query) ([]string, error) {
	s := fmt.Sprintf(`SELECT %s FROM %q`, column("_id"), table)
	if len(q.conds) > 0 {
		s += " WHERE " + strings.Join(q.conds, " AND ")
	}
	if q.order != "" {
		s += " ORDER BY " + column("_id") + " " + q.order
	}
	args := q.args
	if q.limit > 0 {
		s += " LIMIT ?"
		args = append(slices.Clip(args), q.limit)
	}
	rows, err := ix.db.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// EventIDs returns the ids of up to limit events of a group that match f,
// newest first, all below before when it is not empty. A time range is
// served as an `_id` range: an event's created_at is its id's time.
func (ix *Index) EventIDs(ctx context.Context, groupID string, f store.EventFilter, before string, limit int) ([]string, error) {
	q := query{order: "DESC", limit: limit}
	switch {
	case f.EventType != "":
		q.indexed("group_id", groupID)
		q.indexed("event_type", f.EventType)
		if f.AppID != "" {
			q.checked("app_id", "=", f.AppID)
		}
	case f.AppID != "":
		q.indexed("app_id", f.AppID)
		q.checked("group_id", "=", groupID)
	default:
		q.indexed("group_id", groupID)
	}
	if !f.Start.IsZero() {
		q.idRange(">=", ids.AtOrAfter(f.Start))
		q.checked("created_at", ">=", f.Start.UnixMilli()+ceilMs(f.Start))
	}
	if !f.End.IsZero() {
		q.idRange("<=", ids.AtOrBefore(f.End))
		q.checked("created_at", "<=", f.End.UnixMilli())
	}
	if before != "" {
		q.idRange("<", before)
	}
	return ix.ids(ctx, collEvents, q)
}

// ceilMs is 1 when t has a fraction of a millisecond: dates are stored in
// whole milliseconds, so `>= t` means `>= t rounded up`.
func ceilMs(t time.Time) int64 {
	if t.After(time.UnixMilli(t.UnixMilli())) {
		return 1
	}
	return 0
}

// DeliveryIDs returns the ids of up to limit deliveries of a group that
// match f, newest first, all below before when it is not empty. Several
// statuses are read one status at a time and merged: SQLite cannot walk
// several ranges of one index in `_id` order.
func (ix *Index) DeliveryIDs(ctx context.Context, groupID string, f store.DeliveryFilter, before string, limit int) ([]string, error) {
	// The most selective field given leads; the others are checked per row.
	fields := []struct{ path, v string }{{"event_id", f.EventID}, {"endpoint_id", f.EndpointID}, {"app_id", f.AppID}, {"group_id", groupID}}
	lead := len(fields) - 1
	for i, kv := range fields {
		if kv.v != "" {
			lead = i
			break
		}
	}
	base := query{order: "DESC", limit: limit}
	base.indexed(fields[lead].path, fields[lead].v)
	for i, kv := range fields {
		if i != lead && kv.v != "" {
			base.checked(kv.path, "=", kv.v)
		}
	}
	if before != "" {
		base.idRange("<", before)
	}
	if len(f.Statuses) == 0 {
		return ix.ids(ctx, collDeliveries, base)
	}
	if fields[lead].path != "group_id" {
		base.conds = append(base.conds, "+("+column("status")+") IN ("+placeholders(len(f.Statuses))+")")
		for _, s := range f.Statuses {
			base.args = append(base.args, s)
		}
		return ix.ids(ctx, collDeliveries, base)
	}
	var all []string
	for _, s := range slices.Compact(slices.Sorted(slices.Values(f.Statuses))) {
		q := base
		q.conds = append(slices.Clip(q.conds), column("status")+" = ?")
		q.args = append(slices.Clip(q.args), s)
		got, err := ix.ids(ctx, collDeliveries, q)
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
	}
	slices.SortFunc(all, func(a, b string) int { return cmp.Compare(b, a) })
	return all[:min(limit, len(all))], nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// EndpointDeliveryIDs returns the ids of up to limit deliveries of an
// endpoint in a status, oldest first.
func (ix *Index) EndpointDeliveryIDs(ctx context.Context, endpointID, status string, limit int) ([]string, error) {
	q := query{order: "ASC", limit: limit}
	q.indexed("endpoint_id", endpointID)
	q.checked("status", "=", status)
	return ix.ids(ctx, collDeliveries, q)
}

// OverdueDeliveryIDs returns the ids of up to limit deliveries that are not
// final and were due before `before`. The index holds only such deliveries,
// so this costs what it finds, not what history holds.
func (ix *Index) OverdueDeliveryIDs(ctx context.Context, before time.Time, limit int) ([]string, error) {
	q := query{limit: limit}
	q.conds = append(q.conds, column("status")+" IN "+pendingStatuses, column("metadata.next_send_time")+" < ?")
	q.args = append(q.args, before.UnixMilli()+ceilMs(before))
	return ix.ids(ctx, collDeliveries, q)
}

// OldIDs returns the ids of up to limit documents of a group in collection
// that retention deletes at cutoff, oldest first: events and deliveries
// whose id (their event's time) is before cutoff, and idempotency keys
// created before it.
func (ix *Index) OldIDs(ctx context.Context, collection, groupID string, cutoff time.Time, limit int) ([]string, error) {
	q := query{limit: limit}
	q.indexed("group_id", groupID)
	switch collection {
	case collEvents, collDeliveries:
		q.idRange("<", ids.AtOrAfter(cutoff))
		q.order = "ASC"
	case collIdempotency:
		q.conds = append(q.conds, column("created_at")+" < ?")
		q.args = append(q.args, cutoff.UnixMilli()+ceilMs(cutoff))
	default:
		return nil, errors.New("old ids: no index for collection " + collection)
	}
	return ix.ids(ctx, collection, q)
}
