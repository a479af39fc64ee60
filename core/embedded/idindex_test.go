package embedded_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"convoy/core/embedded"
)

// sqlRecorder is a slog.Handler that keeps the SQL statements FerretDB logs at debug level
// (">>> <query>" before each one runs).
type sqlRecorder struct {
	mu      sync.Mutex
	queries []string
}

func (r *sqlRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *sqlRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *sqlRecorder) WithGroup(string) slog.Handler            { return r }
func (r *sqlRecorder) Handle(_ context.Context, rec slog.Record) error {
	if q, ok := strings.CutPrefix(rec.Message, ">>> "); ok {
		r.mu.Lock()
		r.queries = append(r.queries, q)
		r.mu.Unlock()
	}
	return nil
}

// matching returns the distinct recorded statements that contain substr.
func (r *sqlRecorder) matching(substr string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, q := range r.queries {
		if strings.Contains(q, substr) && !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}

// TestIDIndexServesFerretDBQueries runs _id lookups, updates and deletes through the Mongo
// protocol, takes the SQL FerretDB really ran from its debug log, and asks SQLite for the plan of
// each statement: every one must search through the indexer's index instead of scanning.
func TestIDIndexServesFerretDBQueries(t *testing.T) {
	rec := &sqlRecorder{}
	dir := t.TempDir()
	f := startFerret(t, embedded.FerretOptions{Dir: dir, Logger: slog.New(rec)})
	ctx := t.Context()

	coll := mongoClient(t, f.URI()).Database("convoy").Collection("deliveries")
	oid := bson.NewObjectID()
	docs := []any{
		bson.D{{Key: "_id", Value: "dlv_1"}, {Key: "status", Value: "pending"}},
		bson.D{{Key: "_id", Value: "dlv_2"}, {Key: "status", Value: "pending"}},
		bson.D{{Key: "_id", Value: oid}, {Key: "status", Value: "pending"}},
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatalf("insert: %v", err)
	}
	if err := f.EnsureIDIndexes(ctx); err != nil {
		t.Fatalf("ensure indexes: %v", err)
	}

	var got bson.M
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "dlv_1"}}).Decode(&got); err != nil {
		t.Fatalf("find by string _id: %v", err)
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: oid}}).Decode(&got); err != nil {
		t.Fatalf("find by ObjectID _id: %v", err)
	}
	res, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "dlv_1"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: "delivered"}}}})
	if err != nil || res.ModifiedCount != 1 {
		t.Fatalf("update: %+v, %v", res, err)
	}
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: "dlv_2"}}); err != nil {
		t.Fatalf("delete: %v", err)
	}

	db := openSQLite(t, filepath.Join(dir, "convoy.sqlite"))
	var table string
	if err := db.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = ?`,
		"deliveries").Scan(&table); err != nil {
		t.Fatalf("find table: %v", err)
	}
	wantIndex := embedded.IDIndexPrefix + table

	stmts := rec.matching(embedded.IDIndexExpr)
	var selects, updates, deletes int
	for _, q := range stmts {
		switch {
		case strings.HasPrefix(q, "SELECT"):
			selects++
		case strings.HasPrefix(q, "UPDATE"):
			updates++
		case strings.HasPrefix(q, "DELETE"):
			deletes++
		}
		plan := explain(t, db, q)
		t.Logf("%s\n    plan: %s", q, plan)
		if !strings.Contains(plan, "USING INDEX "+wantIndex) || strings.Contains(plan, "SCAN") {
			t.Errorf("statement %q does not use %s: %s", q, wantIndex, plan)
		}
	}
	if selects == 0 || updates == 0 || deletes == 0 {
		t.Fatalf("recorded %d selects, %d updates, %d deletes by _id; want each > 0 (all: %q)",
			selects, updates, deletes, stmts)
	}

	// Control: without the indexer's index (dropped inside a transaction that is rolled back),
	// the same statement scans even though FerretDB's own _id_ index is there.
	rw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "convoy.sqlite")+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	tx, err := rw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DROP INDEX "`+wantIndex+`"`); err != nil {
		t.Fatal(err)
	}
	q := stmts[0]
	rows, err := tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
	if err != nil {
		t.Fatal(err)
	}
	plan := scanPlan(t, rows)
	t.Logf("without the index: %s\n    plan: %s", q, plan)
	if !strings.Contains(plan, "SCAN") {
		t.Errorf("without the index the plan should scan: %s", plan)
	}
}

// TestIDIndexerCoversLaterCollections checks the background pass: a collection created after
// start, in a database created after start, gets its index without EnsureIDIndexes.
func TestIDIndexerCoversLaterCollections(t *testing.T) {
	dir := t.TempDir()
	f := startFerret(t, embedded.FerretOptions{Dir: dir})
	ctx := t.Context()

	c := mongoClient(t, f.URI())
	for _, name := range []string{"endpoints", "attempts"} {
		if _, err := c.Database("later").Collection(name).InsertOne(ctx, bson.D{{Key: "x", Value: 1}}); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}

	waitIndexed(t, filepath.Join(dir, "later.sqlite"), 2)

	var sqlText string
	db := openSQLite(t, filepath.Join(dir, "later.sqlite"))
	if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name LIKE ?`,
		embedded.IDIndexPrefix+"endpoints%").Scan(&sqlText); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(sqlText, "("+embedded.IDIndexExpr+")") {
		t.Fatalf("index sql = %s", sqlText)
	}
	_ = db.Close()

	// A dropped and re-created database is a new file with new tables: indexed again.
	if err := c.Database("later").Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Database("later").Collection("endpoints").InsertOne(ctx, bson.D{{Key: "x", Value: 2}}); err != nil {
		t.Fatalf("insert: %v", err)
	}
	waitIndexed(t, filepath.Join(dir, "later.sqlite"), 1)
}

// waitIndexed waits until the database file has want collections, each with its _id index.
func waitIndexed(t *testing.T, file string, want int) {
	t.Helper()
	db := openSQLite(t, file)
	defer db.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var colls, missing int
		err := db.QueryRowContext(t.Context(), `SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
				SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = ? || c.table_name))
			FROM _ferretdb_collections c`, embedded.IDIndexPrefix).Scan(&colls, &missing)
		if err != nil {
			t.Fatal(err)
		}
		if colls == want && missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d collections without an _id index (want %d collections)", missing, colls, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func openSQLite(t *testing.T, file string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// explain returns SQLite's query plan for q, one detail per step, joined by "; ".
func explain(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	args := make([]any, strings.Count(q, "?"))
	rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %q: %v", q, err)
	}
	return scanPlan(t, rows)
}

func scanPlan(t *testing.T, rows *sql.Rows) string {
	t.Helper()
	defer rows.Close()
	var details []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		details = append(details, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(details, "; ")
}
