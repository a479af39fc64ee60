package sqliteindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"convoy/core/ids"
)

// Retention deletes here, in SQLite, rather than through FerretDB: FerretDB
// v1 deletes a document per `delete` statement, each with its own query and
// transaction (about 1,500 documents/s; a command of many statements is no
// faster, measured in TestDeleteCost), while one DELETE of a few thousand
// rows found through the list index takes milliseconds.
//
// It is safe because FerretDB keeps nothing of a collection's contents in
// memory: read in v1.24.2's source, its SQLite backend caches only the
// catalogue (collection → table, index settings: metadata.Registry), counts
// and sizes are read from SQLite's dbstat when asked, and every query and
// delete goes to SQLite. SQLite's own locking (the file is in WAL mode)
// makes this connection one more writer beside FerretDB's: a batch is one
// short transaction, and FerretDB's writes wait for it through their busy
// timeout (10 s) as ours wait for theirs. Only tables FerretDB created
// and its own catalogue names are touched, and only rows; never the schema.

// deleteBatch caps the rows of one DELETE: each is one write transaction,
// and FerretDB's writers wait while it runs. At ~10 µs a row (deliveries
// with their attempts, with their indexes) 2,000 rows hold the lock about
// 20 ms.
const deleteBatch = 2000

func (ix *Index) writer() *sql.DB {
	ix.rwOnce.Do(func() {
		// mode=rw never creates the file; the busy timeout waits out
		// FerretDB's write transactions.
		ix.rw, _ = sql.Open("sqlite", "file:"+ix.file+"?mode=rw&_pragma=busy_timeout(10000)")
		ix.rw.SetMaxOpenConns(1)
		ix.rw.SetConnMaxIdleTime(30 * time.Second)
	})
	return ix.rw
}

// DeleteOld deletes up to limit documents of a group that retention
// deletes at cutoff (those OldIDs names), oldest first, in batches of at
// most deleteBatch rows, and reports how many it deleted.
func (ix *Index) DeleteOld(ctx context.Context, collection, groupID string, cutoff time.Time, limit int) (int64, error) {
	table, ok, err := ix.table(ctx, collection, false)
	if err != nil || !ok {
		return 0, err
	}
	var total int64
	for total < int64(limit) {
		n, err := ix.deleteOnce(ctx, table, collection, groupID, cutoff, min(deleteBatch, limit-int(total)))
		if err != nil && strings.Contains(err.Error(), "no such table") {
			if table, ok, err = ix.table(ctx, collection, true); err != nil || !ok {
				return total, err
			}
			continue
		}
		if err != nil {
			return total, fmt.Errorf("delete old %s: %w", collection, err)
		}
		total += n
		if n == 0 {
			break
		}
	}
	return total, nil
}

// deleteOnce deletes one batch: the rows are chosen by rowid through the
// list index (every SQLite index carries the rowid, so the choice reads
// index entries only) and then deleted by rowid.
func (ix *Index) deleteOnce(ctx context.Context, table, collection, groupID string, cutoff time.Time, n int) (int64, error) {
	var cond string
	args := []any{groupID}
	switch collection {
	case collEvents, collDeliveries:
		cond = column("_id") + " < ? ORDER BY " + column("_id") + " ASC"
		args = append(args, ids.AtOrAfter(cutoff))
	case collIdempotency:
		cond = column("created_at") + " < ?"
		args = append(args, cutoff.UnixMilli()+ceilMs(cutoff))
	default:
		return 0, errors.New("no index for collection " + collection)
	}
	q := fmt.Sprintf(`DELETE FROM %[1]q WHERE rowid IN (SELECT rowid FROM %[1]q WHERE %[2]s = ? AND %[3]s LIMIT ?)`,
		table, column("group_id"), cond)
	res, err := ix.writer().ExecContext(ctx, q, append(args, n)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
