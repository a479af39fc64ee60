package sqliteindex

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"convoy/core/store"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Documents returns, as BSON, every document of collection whose string
// fields equal the values given, read from FerretDB's rows (see sjson.go)
// rather than through FerretDB, which would decode the whole collection.
// The first field must be one of documentFields; the others are tested on
// the rows it selects. ok is false for a query this cannot serve.
func (ix *Index) Documents(ctx context.Context, collection string, eq []store.FieldValue) (docs []bson.Raw, ok bool, err error) {
	if len(eq) == 0 || !slices.Contains(documentFields[collection], eq[0].Field) {
		return nil, false, nil
	}
	table, found, err := ix.table(ctx, collection, false)
	if err != nil || !found {
		return nil, err == nil, err
	}
	docs, err = ix.readDocuments(ctx, table, eq)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		if table, found, err = ix.table(ctx, collection, true); err != nil || !found {
			return nil, err == nil, err
		}
		docs, err = ix.readDocuments(ctx, table, eq)
	}
	if err != nil {
		return nil, true, fmt.Errorf("read %s: %w", collection, err)
	}
	return docs, true, nil
}

func (ix *Index) readDocuments(ctx context.Context, table string, eq []store.FieldValue) ([]bson.Raw, error) {
	conds := make([]string, len(eq))
	args := make([]any, len(eq))
	for i, fv := range eq {
		conds[i], args[i] = column(fv.Field)+" = ?", fv.Value
	}
	rows, err := ix.db.QueryContext(ctx, fmt.Sprintf(`SELECT _ferretdb_sjson FROM %q WHERE %s`, table, strings.Join(conds, " AND ")), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bson.Raw
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		doc, err := decodeSJSON(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
	return out, rows.Err()
}

// idMatch selects rows by `_id` through the index the local stack gives
// every collection: its expression is FerretDB's own for an `_id` lookup,
// the id as JSON.
const idMatch = "_ferretdb_sjson->'$._id'"

// idArgs are ids as idMatch compares them.
func idArgs(ids []string) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		b, _ := json.Marshal(id) // a string always encodes
		args[i] = string(b)
	}
	return args
}

// byIDChunk bounds the ids of one query, well below SQLite's limit on
// parameters.
const byIDChunk = 500

// byIDs runs a query per 500 ids on collection's table: sql makes it from
// the table's name and the chunk's placeholders ("?, ?, …", bound to the ids
// as idMatch compares them), and row gets each result row's one column.
func (ix *Index) byIDs(ctx context.Context, collection string, ids []string, sql func(table, params string) string, row func([]byte) error) error {
	return ix.onTable(ctx, collection, func(table string) error {
		for chunk := range slices.Chunk(ids, byIDChunk) {
			if err := ix.eachRow(ctx, sql(table, placeholders(len(chunk))), idArgs(chunk), row); err != nil {
				return err
			}
		}
		return nil
	})
}

func (ix *Index) eachRow(ctx context.Context, query string, args []any, row func([]byte) error) error {
	rows, err := ix.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var col []byte
		if err := rows.Scan(&col); err != nil {
			return err
		}
		if err := row(col); err != nil {
			return err
		}
	}
	return rows.Err()
}

// DocumentsByID returns the documents of collection with the given ids, as
// BSON, in the order of ids (those not stored are left out), without the
// top-level fields named in omit. It reads FerretDB's rows in a query per
// 500 ids, where FerretDB would answer one read per id, decoding each.
func (ix *Index) DocumentsByID(ctx context.Context, collection string, ids []string, omit []string) ([]bson.Raw, error) {
	byID := make(map[string]bson.Raw, len(ids))
	err := ix.byIDs(ctx, collection, ids, func(table, params string) string {
		return fmt.Sprintf(`SELECT _ferretdb_sjson FROM %q WHERE %s IN (%s)`, table, idMatch, params)
	}, func(raw []byte) error {
		doc, err := decodeSJSON(raw, omit...)
		if err != nil {
			return fmt.Errorf("%s: %w", collection, err)
		}
		id, _ := doc.Lookup("_id").StringValueOK()
		byID[id] = doc
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]bson.Raw, 0, len(byID))
	for _, id := range ids {
		if doc, ok := byID[id]; ok {
			out = append(out, doc)
			delete(byID, id) // an id asked for twice is returned once
		}
	}
	return out, nil
}

// StoredIDs returns which of ids have a document in collection, through
// the `_id` index, in a query per 500 ids rather than one FerretDB read,
// with its decoding, per id.
func (ix *Index) StoredIDs(ctx context.Context, collection string, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	// Each id is tested for existence alone, which the index answers
	// without reading the document (selecting the id from the row would
	// parse its JSON: ten times the cost).
	err := ix.byIDs(ctx, collection, ids, func(table, params string) string {
		values := strings.ReplaceAll(params, "?", "(?)")
		return fmt.Sprintf(`SELECT v.column1 FROM (VALUES %s) v WHERE EXISTS (SELECT 1 FROM %q WHERE %s = v.column1)`, values, table, idMatch)
	}, func(quoted []byte) error {
		var id string
		if err := json.Unmarshal(quoted, &id); err != nil {
			return fmt.Errorf("id %s: %w", quoted, err)
		}
		out[id] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s ids: %w", collection, err)
	}
	return out, nil
}
