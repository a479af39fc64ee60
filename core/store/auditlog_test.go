package store_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"convoy/core/embedded"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/core/store/sqliteindex"

	_ "modernc.org/sqlite"
)

// The audit log pages newest first by `_id` through the SQLite index on the
// embedded store exactly as through FerretDB's own query, for one group and
// for every group, and the index's query walks an index, never the table.
func TestAuditLogIndexed(t *testing.T) {
	f, err := embedded.StartFerretDB(t.Context(), embedded.FerretOptions{Dir: filepath.Join(t.TempDir(), "ferretdb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	plain := openStore(t, f.URI(), "convoy")
	if err := f.EnsureIDIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	ix := sqliteindex.Open(f.Dir(), "convoy")
	t.Cleanup(func() { ix.Close() })
	indexed := openStore(t, f.URI(), "convoy", store.WithIndex(ix))

	at := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 25 {
		g := "g1"
		if i%3 == 0 {
			g = "g2"
		}
		e := &model.AuditEntry{UID: ids.New(), GroupID: g, Actor: "admin", Action: "update", ResourceType: "group", ResourceID: g, CreatedAt: at}
		if err := plain.AppendAudit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(st *store.Store, group string) []string {
		var out []string
		p := store.Page{PerPage: 4}
		for {
			page, info, err := st.ListAudit(t.Context(), group, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				if group != "" && e.GroupID != group {
					t.Fatalf("entry of %s in %s's log", e.GroupID, group)
				}
				out = append(out, e.UID)
			}
			if !info.HasNext {
				return out
			}
			p.Cursor = info.NextCursor
		}
	}
	for _, group := range []string{"g1", "g2", ""} {
		got, want := walk(indexed, group), walk(plain, group)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("group %q: indexed %v, plain %v", group, got, want)
		}
		if !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Fatalf("group %q not newest first: %v", group, got)
		}
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.Dir(), "convoy.sqlite")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, err := sqliteindex.Tables(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	col := func(p string) string { return "_ferretdb_sjson->>'$." + p + "'" }
	// The text sqliteindex runs for a group's page after the first.
	for _, q := range []string{
		fmt.Sprintf(`SELECT %s FROM %q WHERE %s = ? AND %s < ? ORDER BY %s DESC LIMIT ?`, col("_id"), tables["audit_log"], col("group_id"), col("_id"), col("_id")),
		fmt.Sprintf(`SELECT %s FROM %q WHERE %s < ? ORDER BY %s DESC LIMIT ?`, col("_id"), tables["audit_log"], col("_id"), col("_id")),
	} {
		rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, sqliteindex.Prefix) || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("plan %q for %s: want one of our indexes, no sort", p, q)
		}
	}
}
