package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"convoy/core/store/sqliteindex"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	_ "modernc.org/sqlite" // database/sql driver "sqlite", the one FerretDB itself uses
)

const (
	// IDIndexExpr is the expression FerretDB v1's SQLite backend compares with the _id filter
	// value (metadata.IDColumn: `WHERE _ferretdb_sjson->'$._id' = ?` in selects, updates and
	// deletes). SQLite only uses an index whose expression matches the query's text, and
	// FerretDB's own "_id_" index is on `_ferretdb_sjson->"_id"`, so without an index on exactly
	// this expression every lookup by _id scans the whole table.
	IDIndexExpr = `_ferretdb_sjson->'$._id'`

	// IDIndexPrefix starts the name of every index the indexer creates; the table name follows.
	// FerretDB names its indexes "<table>_<index>", so the prefix cannot collide with them.
	IDIndexPrefix = "_convoy_id_"

	// collectionsTable is FerretDB's per-database catalogue (columns name, table_name, settings).
	collectionsTable = "_ferretdb_collections"
)

// idIndexer remembers which collections already have their _id index, so that a background pass
// opens a database file only when a collection has appeared in it. Besides saving work, this
// keeps the indexer's own SQLite connection away from databases FerretDB may be dropping: if one
// were open while FerretDB drops and at once re-creates a database, closing it could remove the
// new database's WAL file.
type idIndexer struct {
	mu      sync.Mutex // one pass at a time
	client  *mongo.Client
	dir     string
	indexed map[string]bool // collection UUIDs
}

// runIndexer ensures the _id indexes every indexInterval, so collections created after start get
// theirs within a few seconds.
func (f *FerretDB) runIndexer(ctx context.Context) {
	t := time.NewTicker(indexInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := f.EnsureIDIndexes(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("ensure _id indexes", "error", err)
		}
	}
}

// EnsureIDIndexes creates the missing _id index (on IDIndexExpr) of every collection now,
// instead of waiting for the background pass. Call it after creating a collection when the very
// next queries must not scan, e.g. before a benchmark.
func (f *FerretDB) EnsureIDIndexes(ctx context.Context) error {
	x := f.idx
	x.mu.Lock()
	defer x.mu.Unlock()

	// Each database is one file. listDatabases would name them too, but FerretDB
	// computes every database's size for it: at 3 s intervals that was 8% of
	// the embedded stack's CPU under load.
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return fmt.Errorf("list databases: %w", err)
	}
	dbs := make([]string, len(files))
	for i, f := range files {
		dbs[i] = strings.TrimSuffix(filepath.Base(f), ".sqlite")
	}
	indexed := make(map[string]bool, len(x.indexed))
	var errs []error
	for _, db := range dbs {
		// FerretDB answers this from its in-memory catalogue.
		specs, err := x.client.Database(db).ListCollectionSpecifications(ctx, bson.D{})
		if err != nil {
			errs = append(errs, fmt.Errorf("list collections of %s: %w", db, err))
			continue
		}
		var fresh []string
		for _, spec := range specs {
			key := db + "\x00" + spec.Name
			if spec.UUID != nil {
				key = string(spec.UUID.Data)
			}
			if x.indexed[key] {
				indexed[key] = true
			} else {
				fresh = append(fresh, key)
			}
		}
		if len(fresh) == 0 {
			continue
		}
		file := filepath.Join(x.dir, db+".sqlite")
		if err := ensureFileIDIndexes(ctx, file); err != nil {
			if _, statErr := os.Stat(file); errors.Is(statErr, os.ErrNotExist) {
				continue // the database was dropped meanwhile
			}
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(file), err))
			continue
		}
		for _, key := range fresh {
			indexed[key] = true
		}
	}
	x.indexed = indexed
	return errors.Join(errs...)
}

// ensureFileIDIndexes opens one database file next to FerretDB's own connections (WAL lets them
// share it; the busy timeout waits out FerretDB's writes) and creates the missing indexes of all
// its collections. The connection is closed at once, so that a database FerretDB drops is not
// kept open; mode=rw never creates a file, so a database dropped meanwhile is not brought back.
func ensureFileIDIndexes(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	var n int
	err = db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, collectionsTable).Scan(&n)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if n == 0 {
		return nil // FerretDB is still creating this database
	}

	tables, err := queryStrings(ctx, db, fmt.Sprintf(`SELECT table_name FROM %q`, collectionsTable))
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	byName, err := sqliteindex.Tables(ctx, db)
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	indexes, err := queryStrings(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		return fmt.Errorf("list indexes: %w", err)
	}
	have := make(map[string]bool, len(indexes))
	for _, name := range indexes {
		have[name] = true
	}

	for _, table := range tables {
		name := IDIndexPrefix + table
		if have[name] {
			continue
		}
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`, name, table, IDIndexExpr)
		if _, err := db.ExecContext(ctx, q); err != nil {
			if strings.Contains(err.Error(), "no such table") {
				continue // the collection was dropped meanwhile
			}
			return fmt.Errorf("create index %s: %w", name, err)
		}
	}
	// The store's list, sweep and retention queries read these directly.
	return sqliteindex.EnsureIndexes(ctx, db, byName)
}

func queryStrings(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
