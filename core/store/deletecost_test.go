package store_test

import (
	"context"
	"testing"
	"time"

	"convoy/core/store"
	"convoy/core/store/sqliteindex"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"
)

// onlyIndex hides an Index's own deletes, so the store deletes through
// FerretDB by `_id`.
type onlyIndex struct{ store.Index }

// TestDeleteCost compares ways of deleting retention's batches on the
// embedded store, each on its own quarter of the same history (events with
// one delivery each, as TestListCost fills): a bulk write of one statement
// per `_id` (what the store did first), `delete` commands of 50 statements
// with four in flight, and the index's own DELETE in SQLite. It is a
// measurement, gated like TestListCost.
func TestDeleteCost(t *testing.T) {
	n, f, plain, ix := costStore(t)
	ctx := t.Context()
	byID := openStore(t, f.URI(), "convoy", store.WithIndex(onlyIndex{ix}))
	direct := openStore(t, f.URI(), "convoy", store.WithIndex(ix))
	h := fillHistory(t, plain, n)

	quarter := func(i int) time.Time { return h.start.Add(h.span * time.Duration(i) / 4) }
	ways := []struct {
		name string
		run  func(cutoff time.Time) (int64, error)
	}{
		{"bulk write, one statement per _id", func(cutoff time.Time) (int64, error) {
			return byID.DeleteOlderThan(ctx, h.group, cutoff, 500)
		}},
		{"delete commands of 50, 4 in flight", func(cutoff time.Time) (int64, error) {
			return deleteByCommands(ctx, plain, ix, h.group, cutoff, 500)
		}},
		{"DELETE in SQLite", func(cutoff time.Time) (int64, error) {
			return direct.DeleteOlderThan(ctx, h.group, cutoff, 500)
		}},
	}
	for i, w := range ways {
		start := time.Now()
		var total int64
		for {
			k, err := w.run(quarter(i + 1))
			if err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			total += k
			if k == 0 {
				break
			}
		}
		took := time.Since(start)
		t.Logf("%-36s %6d documents in %6.2f s: %8.0f documents/s", w.name, total, took.Seconds(), float64(total)/took.Seconds())
		if total < int64(n/2)-10 { // a quarter of the events and of the deliveries
			t.Errorf("%s deleted %d documents, want about %d", w.name, total, n/2)
		}
	}
}

// deleteByCommands deletes a batch of old deliveries and events as
// `delete` commands of 50 statements `{q: {_id}, limit: 1}`, four at once.
func deleteByCommands(ctx context.Context, st *store.Store, ix *sqliteindex.Index, group string, cutoff time.Time, limit int) (int64, error) {
	var total int64
	for _, coll := range []string{"deliveries", "events"} {
		old, err := ix.OldIDs(ctx, coll, group, cutoff, limit)
		if err != nil {
			return total, err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		counts := make([]int64, (len(old)+49)/50)
		for c := range counts {
			chunk := old[c*50 : min(len(old), (c+1)*50)]
			g.Go(func() error {
				deletes := bson.A{}
				for _, id := range chunk {
					deletes = append(deletes, bson.D{{Key: "q", Value: bson.D{{Key: "_id", Value: id}}}, {Key: "limit", Value: 1}})
				}
				var res struct {
					N int64 `bson:"n"`
				}
				cmd := bson.D{{Key: "delete", Value: coll}, {Key: "deletes", Value: deletes}, {Key: "ordered", Value: false}}
				if err := st.RawCollection(coll).Database().RunCommand(gctx, cmd).Decode(&res); err != nil {
					return err
				}
				counts[c] = res.N
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return total, err
		}
		for _, c := range counts {
			total += c
		}
	}
	return total, nil
}
