// Package sqliteindex answers the store's list, sweep and retention queries
// on the embedded FerretDB by reading its SQLite files directly, through
// expression indexes it creates there: FerretDB v1 pushes only an exact
// `{_id}` filter down to SQLite and decodes every document of a collection
// for any other query, so without this a page costs a scan of the whole
// history. The index answers with ids alone; the store then reads each
// document by `_id` through FerretDB, which that lookup does not scan.
//
// The expressions here must match the queries' text exactly for SQLite to
// use an index, which is why both live in this package. They follow FerretDB
// v1's storage: one table per collection (named in `_ferretdb_collections`),
// one JSON column `_ferretdb_sjson` holding the document, dates as
// milliseconds since the epoch.
package sqliteindex

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Prefix starts the name of every index created here; FerretDB names its own
// "<table>_<index>", so the two never collide.
const Prefix = "_convoy_list_"

// column is the SQL expression for a document field (a dotted path) as an
// SQL value: text for strings, integer milliseconds for dates.
func column(path string) string { return "_ferretdb_sjson->>'$." + path + "'" }

// Collection names, as the store names them.
const (
	collEvents       = "events"
	collDeliveries   = "deliveries"
	collIdempotency  = "idempotency_keys"
	collApplications = "applications"
	collEndpoints    = "endpoints"
	collAuditLog     = "audit_log"
)

// pendingStatuses are the delivery statuses a sweep looks at; the index
// behind it holds only those deliveries, so it costs nothing for the final
// ones that make up nearly all of history.
const pendingStatuses = `('Scheduled', 'Processing', 'Retry')`

// discardedCond selects the deliveries an endpoint's replay reads. Few
// deliveries are Discarded (only those to an inactive endpoint), so the
// index behind it costs an insert the test of this condition and nothing
// more.
var discardedCond = column("status") + " = 'Discarded'"

type index struct {
	name  string
	paths []string
	where string // partial index condition, or empty
}

// indexes are the ones the lists, the sweep and retention need. Each costs
// every insert a b-tree write and a JSON extraction per column (about 10 µs
// a column on these machines, against about 110 µs for the insert itself),
// and the hot path is inserts; so each collection has one index, newest
// first per group, that also carries the fields lists filter on. A filtered
// page walks that index and tests the filters on its entries, never reading
// a document it will not return: a few microseconds per entry skipped.
var indexes = map[string][]index{
	collEvents: {
		{name: "group", paths: eventColumns},
		// Reconciliation walks recent events of every group by time, that is
		// by `_id`; every other query has a group.
		{name: "id", paths: []string{"_id"}},
	},
	collDeliveries: {
		{name: "group2", paths: deliveryColumns},
		{name: "pending", paths: []string{"status", "metadata.next_send_time"}, where: column("status") + " IN " + pendingStatuses},
		{name: "discarded", paths: []string{"endpoint_id", "_id"}, where: discardedCond},
	},
	collIdempotency: {
		{name: "created", paths: []string{"group_id", "created_at"}},
	},
	// Entries are written only by configuration changes: two indexes cost
	// nothing on the hot path.
	collAuditLog: {
		{name: "group", paths: []string{"group_id", "_id"}},
		{name: "id", paths: []string{"_id"}},
	},
	// A broadcast reads every endpoint of its group, an event those of its
	// application: without these, each read decodes every endpoint of every
	// group (about 0.2 ms an endpoint). Their writes are rare.
	collEndpoints: {
		{name: "group", paths: []string{"group_id"}},
		{name: "app", paths: []string{"app_id"}},
	},
	collApplications: {
		{name: "group", paths: []string{"group_id"}},
	},
}

// documentFields are the fields Documents may select by, per collection:
// those with an index above.
var documentFields = map[string][]string{
	collEndpoints:    {"group_id", "app_id"},
	collApplications: {"group_id"},
}

var (
	eventColumns    = []string{"group_id", "_id", "app_id", "event_type"}
	deliveryColumns = []string{"group_id", "_id", "status", "app_id", "endpoint_id", "event_type"}
)

// EnsureIndexes creates the missing indexes in one open database file of
// FerretDB, for every collection there that has any, and drops those of
// ours an earlier version made that are no longer wanted (each one costs
// every insert). tables maps collection names to their table names.
func EnsureIndexes(ctx context.Context, db *sql.DB, tables map[string]string) error {
	for coll, list := range indexes {
		table, ok := tables[coll]
		if !ok {
			continue
		}
		if err := dropUnwanted(ctx, db, table, list); err != nil {
			return fmt.Errorf("drop old indexes on %s: %w", coll, err)
		}
		for _, ix := range list {
			cols := make([]string, len(ix.paths))
			for i, p := range ix.paths {
				cols[i] = column(p)
			}
			q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`, Prefix+table+"_"+ix.name, table, strings.Join(cols, ", "))
			if ix.where != "" {
				q += " WHERE " + ix.where
			}
			if _, err := db.ExecContext(ctx, q); err != nil {
				if strings.Contains(err.Error(), "no such table") {
					break // the collection was dropped meanwhile
				}
				return fmt.Errorf("create index %s on %s: %w", ix.name, coll, err)
			}
		}
	}
	return nil
}

// dropUnwanted drops the indexes of ours on table that list does not name.
func dropUnwanted(ctx context.Context, db *sql.DB, table string, list []index) error {
	want := map[string]bool{}
	for _, ix := range list {
		want[Prefix+table+"_"+ix.name] = true
	}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, table)
	if err != nil {
		return err
	}
	var drop []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		if strings.HasPrefix(name, Prefix+table+"_") && !want[name] {
			drop = append(drop, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range drop {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`DROP INDEX IF EXISTS %q`, name)); err != nil {
			return err
		}
	}
	return nil
}
