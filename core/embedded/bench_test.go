package embedded_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"convoy/core/embedded"
)

const (
	benchDocs     = 10_000
	benchParallel = 8
	benchBulk     = 50
	benchInsert   = 100
)

var benchPayload = strings.Repeat("x", 900) // with the other fields, ~1 KiB per document

// BenchmarkFerretDB measures the write paths Convoy uses against the embedded FerretDB with its
// _id index, on a collection of 10,000 ~1 KiB documents, once with FerretDB's SQLite defaults
// (WAL, synchronous=FULL: an fsync per commit) and once with synchronous=NORMAL.
//
//	go test ./embedded/ -bench . -run '^$'
func BenchmarkFerretDB(b *testing.B) {
	settings := []struct {
		name    string
		pragmas []string
	}{
		{"sync=full", []string{}}, // FerretDB's own defaults
		{"sync=normal", []string{"synchronous(normal)"}},
	}
	for _, s := range settings {
		b.Run(s.name, func(b *testing.B) {
			coll := benchCollection(b, s.pragmas)
			b.Run("UpdateOne", func(b *testing.B) { benchUpdateOne(b, coll, 1) })
			b.Run(fmt.Sprintf("UpdateOne_%dgoroutines", benchParallel), func(b *testing.B) {
				benchUpdateOne(b, coll, benchParallel)
			})
			b.Run(fmt.Sprintf("BulkWrite%d", benchBulk), func(b *testing.B) { benchBulkWrite(b, coll) })
			b.Run(fmt.Sprintf("InsertMany%d", benchInsert), func(b *testing.B) { benchInsertMany(b, coll) })
		})
	}
}

// benchCollection starts a FerretDB and seeds a collection with benchDocs documents.
func benchCollection(b *testing.B, pragmas []string) *mongo.Collection {
	b.Helper()
	f, err := embedded.StartFerretDB(context.Background(), embedded.FerretOptions{
		Dir: b.TempDir(), SQLitePragmas: pragmas,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.Close)
	client, err := mongo.Connect(options.Client().ApplyURI(f.URI()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Disconnect(context.Background()) })

	ctx := context.Background()
	coll := client.Database("bench").Collection("deliveries")
	for start := 0; start < benchDocs; start += 1000 {
		docs := make([]any, 0, 1000)
		for i := start; i < start+1000; i++ {
			docs = append(docs, benchDoc(docID(i)))
		}
		if _, err := coll.InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.EnsureIDIndexes(ctx); err != nil {
		b.Fatal(err)
	}
	return coll
}

func docID(i int) string { return fmt.Sprintf("dlv_%06d", i) }

func benchDoc(id any) bson.D {
	return bson.D{
		{Key: "_id", Value: id},
		{Key: "endpoint_id", Value: "ep_01J0000000000000000000000"},
		{Key: "status", Value: "pending"},
		{Key: "attempts", Value: 0},
		{Key: "created_at", Value: time.Now()},
		{Key: "payload", Value: benchPayload},
	}
}

func benchUpdateOne(b *testing.B, coll *mongo.Collection, workers int) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for next.Add(1) <= int64(b.N) {
				res, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: docID(rng.IntN(benchDocs))}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: "delivered"}}},
						{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}}})
				if err != nil || res.MatchedCount != 1 {
					b.Errorf("update: %+v, %v", res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

func benchBulkWrite(b *testing.B, coll *mongo.Collection) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	attempt := bson.D{
		{Key: "at", Value: time.Now()},
		{Key: "status_code", Value: 200},
		{Key: "response", Value: benchPayload},
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		models := make([]mongo.WriteModel, benchBulk)
		for i := range models {
			models[i] = mongo.NewUpdateOneModel().
				SetFilter(bson.D{{Key: "_id", Value: docID(rng.IntN(benchDocs))}}).
				SetUpdate(bson.D{
					{Key: "$set", Value: bson.D{{Key: "status", Value: "retrying"}}},
					{Key: "$push", Value: bson.D{{Key: "attempt_log", Value: attempt}}},
				})
		}
		res, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		if err != nil || res.MatchedCount != benchBulk {
			b.Fatalf("bulk write: %+v, %v", res, err)
		}
	}
	elapsed := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/elapsed, "ops/s")
	b.ReportMetric(float64(b.N*benchBulk)/elapsed, "docs/s")
}

func benchInsertMany(b *testing.B, coll *mongo.Collection) {
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		docs := make([]any, benchInsert)
		for i := range docs {
			docs[i] = benchDoc(bson.NewObjectID())
		}
		if _, err := coll.InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/elapsed, "ops/s")
	b.ReportMetric(float64(b.N*benchInsert)/elapsed, "docs/s")
}
