package sqliteindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", the one FerretDB itself uses
)

// collectionsTable is FerretDB's per-database catalogue (columns name, table_name, settings).
const collectionsTable = "_ferretdb_collections"

// Index reads the list indexes of one FerretDB database; it implements
// store.Index. It is safe for concurrent use.
type Index struct {
	db *sql.DB
	// rw writes retention's deletes (see DeleteOld); opened at the first.
	rwOnce sync.Once
	rw     *sql.DB
	file   string

	mu     sync.Mutex
	tables map[string]string // collection name → table name, nil until read
}

// Open reads the SQLite file of database name in dir, FerretDB's SQLite
// folder. The file is opened at the first query (FerretDB creates it with
// the database's first collection), read-only, next to FerretDB's own
// connections: WAL lets readers in other processes see every committed
// write without blocking it.
func Open(dir, name string) *Index {
	file := filepath.Join(dir, name+".sqlite")
	db, _ := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(10000)") // only checks the driver name
	db.SetMaxOpenConns(4)
	// An idle connection keeps FerretDB's WAL from being reset; let go soon.
	db.SetConnMaxIdleTime(30 * time.Second)
	return &Index{db: db, file: file}
}

// Close closes the file.
func (ix *Index) Close() error {
	if ix.rw != nil {
		_ = ix.rw.Close()
	}
	return ix.db.Close()
}

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

// where adds a condition on a document field. Fields in the collection's
// index are tested on its entries; others need the document.
func (q *query) where(path, op string, v any) {
	q.conds = append(q.conds, column(path)+" "+op+" ?")
	q.args = append(q.args, v)
}

// idRange bounds `_id`, which follows group_id in every index and so
// narrows its scan.
func (q *query) idRange(op, v string) { q.where("_id", op, v) }

func (ix *Index) ids(ctx context.Context, coll string, q query) (out []string, err error) {
	err = ix.onTable(ctx, coll, func(table string) (err error) {
		out, err = ix.run(ctx, table, q)
		return err
	})
	return out, err
}

// onTable runs fn on the table of a collection; a collection without one
// has nothing to find, and fn is not run.
func (ix *Index) onTable(ctx context.Context, coll string, fn func(table string) error) error {
	table, ok, err := ix.table(ctx, coll, false)
	if err != nil || !ok {
		return err
	}
	err = fn(table)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		// The collection was dropped and created again under a new table.
		if table, ok, err = ix.table(ctx, coll, true); err != nil || !ok {
			return err
		}
		err = fn(table)
	}
	if err != nil {
		return fmt.Errorf("query %s index: %w", coll, err)
	}
	return nil
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
	q.where("group_id", "=", groupID)
	if f.AppID != "" {
		q.where("app_id", "=", f.AppID)
	}
	if f.EventType != "" {
		q.where("event_type", "=", f.EventType)
	}
	if !f.Start.IsZero() {
		q.idRange(">=", ids.AtOrAfter(f.Start))
		q.where("created_at", ">=", f.Start.UnixMilli()+ceilMs(f.Start))
	}
	if !f.End.IsZero() {
		q.idRange("<=", ids.AtOrBefore(f.End))
		q.where("created_at", "<=", f.End.UnixMilli())
	}
	if before != "" {
		q.idRange("<", before)
	}
	return ix.ids(ctx, collEvents, q)
}

// EventIDsBetween returns the ids of up to limit events of every group made
// from `from` to `to` (both included, to the millisecond), above after when
// it is not empty, oldest first.
func (ix *Index) EventIDsBetween(ctx context.Context, from, to time.Time, after string, limit int) ([]string, error) {
	q := query{order: "ASC", limit: limit}
	if lower := ids.AtOrAfter(from); after >= lower {
		q.idRange(">", after)
	} else {
		q.idRange(">=", lower)
	}
	q.idRange("<=", ids.AtOrBefore(to))
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
// match f, newest first, all below before when it is not empty. The
// deliveries of one event are found by time: their ids carry the event's.
func (ix *Index) DeliveryIDs(ctx context.Context, groupID string, f store.DeliveryFilter, before string, limit int) ([]string, error) {
	q, ok := deliveryQuery(groupID, f)
	if !ok {
		return nil, nil
	}
	q.order, q.limit = "DESC", limit
	if before != "" {
		q.idRange("<", before)
	}
	return ix.ids(ctx, collDeliveries, q)
}

// deliveryQuery is the condition of a delivery list's filter; ok is false
// when nothing can match.
func deliveryQuery(groupID string, f store.DeliveryFilter) (q query, ok bool) {
	q.where("group_id", "=", groupID)
	for _, kv := range []struct{ path, v string }{{"app_id", f.AppID}, {"endpoint_id", f.EndpointID}, {"event_type", f.EventType}} {
		if kv.v != "" {
			q.where(kv.path, "=", kv.v)
		}
	}
	if len(f.Statuses) > 0 {
		q.conds = append(q.conds, column("status")+" IN ("+placeholders(len(f.Statuses))+")")
		for _, s := range f.Statuses {
			q.args = append(q.args, s)
		}
	}
	if f.EventID != "" {
		at, ok := ids.Time(f.EventID)
		if !ok {
			return q, false // not an id this store made: no deliveries
		}
		q.idRange(">=", ids.AtOrAfter(at))
		q.idRange("<=", ids.AtOrBefore(at))
		q.where("event_id", "=", f.EventID)
	}
	// created_at is not in the index: entries in the `_id` range (see
	// store.StoreLag) are tested on their document.
	if !f.Start.IsZero() {
		q.idRange(">=", ids.AtOrAfter(f.Start.Add(-store.StoreLag)))
		q.where("created_at", ">=", f.Start.UnixMilli()+ceilMs(f.Start))
	}
	if !f.End.IsZero() {
		q.idRange("<=", ids.AtOrBefore(f.End))
		q.where("created_at", "<=", f.End.UnixMilli())
	}
	return q, true
}

// DeliveryStatusCounts counts the deliveries of a group that match f, by
// status: DeliveryIDs' conditions, every match, one row per status.
func (ix *Index) DeliveryStatusCounts(ctx context.Context, groupID string, f store.DeliveryFilter) (map[string]int64, error) {
	out := map[string]int64{}
	q, ok := deliveryQuery(groupID, f)
	if !ok {
		return out, nil
	}
	err := ix.onTable(ctx, collDeliveries, func(table string) error {
		clear(out)
		s := fmt.Sprintf(`SELECT %s, count(*) FROM %q WHERE %s GROUP BY 1`, column("status"), table, strings.Join(q.conds, " AND "))
		rows, err := ix.db.QueryContext(ctx, s, q.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st sql.NullString
			var n int64
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			out[st.String] += n
		}
		return rows.Err()
	})
	return out, err
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// EndpointDeliveryIDs returns the ids of up to limit deliveries of an
// endpoint in a status, oldest first. Discarded ones (what an endpoint's
// replay asks for) have an index of their own; the condition is written as
// that index's own text, which is how SQLite knows it may use it.
func (ix *Index) EndpointDeliveryIDs(ctx context.Context, endpointID, status string, limit int) ([]string, error) {
	q := query{order: "ASC", limit: limit}
	q.where("endpoint_id", "=", endpointID)
	if status == model.StatusDiscarded {
		q.conds = append(q.conds, discardedCond)
	} else {
		q.where("status", "=", status)
	}
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
	q.where("group_id", "=", groupID)
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

// AuditIDs returns the ids of up to limit audit entries of a group, or of
// every group when groupID is empty, newest first, all below before when it
// is not empty.
func (ix *Index) AuditIDs(ctx context.Context, groupID, before string, limit int) ([]string, error) {
	q := query{order: "DESC", limit: limit}
	if groupID != "" {
		q.where("group_id", "=", groupID)
	}
	if before != "" {
		q.idRange("<", before)
	}
	return ix.ids(ctx, collAuditLog, q)
}
