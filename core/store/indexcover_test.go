package store_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"convoy/core/ids"
	"convoy/core/store"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// filterFields splits a query's filter into fields tested for equality
// (`$in` included: MongoDB scans each value's range in order and merges
// them, so a sort after it needs no blocking SORT) and fields with a range.
func filterFields(f bson.D) (eq, rng []string) {
	for _, e := range f {
		cond, ok := e.Value.(bson.D)
		if !ok || len(cond) == 0 || cond[0].Key == "$in" {
			eq = append(eq, e.Key)
			continue
		}
		rng = append(rng, e.Key)
	}
	return eq, rng
}

// serves reports whether an index with keys answers q by an index scan
// with no sort of its own: equality fields first (how many of q's there
// are in that prefix is returned), then q's sort field, or for an unsorted
// query one of its range fields or nothing.
func serves(keys bson.D, q store.Query) (prefix int, ok bool) {
	eq, rng := filterFields(q.Filter)
	i := 0
	for i < len(keys) && slices.Contains(eq, keys[i].Key) {
		i++
	}
	switch {
	case len(q.Sort) > 0:
		return i, i < len(keys) && keys[i].Key == q.Sort[0].Key && (i > 0 || slices.Contains(rng, keys[i].Key))
	case i > 0:
		return i, true
	default:
		return 0, len(keys) > 0 && slices.Contains(rng, keys[0].Key)
	}
}

// TestIndexesCoverQueries checks, without a server, that on a real MongoDB
// every list, sweep and retention query has an index that serves it, and
// that a query narrowed by one filter besides its group uses that filter's
// index, not a walk of the whole group.
func TestIndexesCoverQueries(t *testing.T) {
	keys := store.IndexKeys()
	queries := store.Queries()
	if len(queries) < 30 {
		t.Fatalf("only %d queries: the list is incomplete", len(queries))
	}
	for _, q := range queries {
		t.Run(q.Name, func(t *testing.T) {
			eq, _ := filterFields(q.Filter)
			best := 0
			for _, k := range keys[q.Collection] {
				if n, ok := serves(k, q); ok {
					best = max(best, n)
				}
			}
			switch {
			case best == 0:
				t.Fatalf("no index on %s serves filter %v sort %v; indexes %v", q.Collection, q.Filter, q.Sort, keys[q.Collection])
			case len(eq) <= 2 && best < len(eq), len(eq) > 2 && best < 2:
				t.Fatalf("the best index on %s narrows by %d of the equality fields %v", q.Collection, best, eq)
			}
		})
	}
}

// TestIndexesUsedOnMongoDB asks a real MongoDB (CONVOY_TEST_MONGODB_URI) to
// explain every list, sweep and retention query on a fresh database with
// the store's schema: each plan must scan an index, never the collection,
// and a sorted query must not sort in memory.
func TestIndexesUsedOnMongoDB(t *testing.T) {
	uri := os.Getenv("CONVOY_TEST_MONGODB_URI")
	if uri == "" {
		t.Skip("CONVOY_TEST_MONGODB_URI not set")
	}
	name := "convoy_explain_" + ids.New()
	st := openStore(t, uri, name)
	db := st.RawCollection("events").Database()
	t.Cleanup(func() { _ = db.Drop(context.Background()) })
	for _, q := range store.Queries() {
		t.Run(q.Name, func(t *testing.T) {
			find := bson.D{{Key: "find", Value: q.Collection}, {Key: "filter", Value: q.Filter}, {Key: "limit", Value: 21}}
			if len(q.Sort) > 0 {
				find = append(find, bson.E{Key: "sort", Value: q.Sort})
			}
			// Nested documents decode as bson.D, so the plan is read as such.
			var res struct {
				QueryPlanner struct {
					WinningPlan bson.D `bson:"winningPlan"`
				} `bson:"queryPlanner"`
			}
			cmd := bson.D{{Key: "explain", Value: find}, {Key: "verbosity", Value: "queryPlanner"}}
			if err := db.RunCommand(t.Context(), cmd).Decode(&res); err != nil {
				t.Fatalf("explain: %v", err)
			}
			stages := planStages(res.QueryPlanner.WinningPlan)
			if !slices.ContainsFunc(stages, func(s string) bool { return s == "IXSCAN" || s == "EXPRESS_IXSCAN" }) ||
				slices.Contains(stages, "COLLSCAN") {
				t.Fatalf("winning plan stages %v, want an IXSCAN and no COLLSCAN", stages)
			}
			if len(q.Sort) > 0 && slices.Contains(stages, "SORT") {
				t.Fatalf("winning plan stages %v sort in memory", stages)
			}
		})
	}
}

// planStages lists every "stage" in an explain plan: the classic engine
// nests them under inputStage(s), the slot-based one under queryPlan.
func planStages(v any) []string {
	var out []string
	switch p := v.(type) {
	case bson.D:
		for _, e := range p {
			if s, ok := e.Value.(string); ok && e.Key == "stage" {
				out = append(out, s)
			}
			out = append(out, planStages(e.Value)...)
		}
	case bson.A:
		for _, child := range p {
			out = append(out, planStages(child)...)
		}
	}
	return out
}

// planStages must find every stage of both engines' plan shapes, or the
// MongoDB test could pass on a plan it did not read.
func TestPlanStages(t *testing.T) {
	classic := bson.D{{Key: "stage", Value: "LIMIT"}, {Key: "inputStage", Value: bson.D{{Key: "stage", Value: "FETCH"},
		{Key: "inputStage", Value: bson.D{{Key: "stage", Value: "SORT_MERGE"}, {Key: "inputStages", Value: bson.A{
			bson.D{{Key: "stage", Value: "IXSCAN"}}, bson.D{{Key: "stage", Value: "IXSCAN"}}}}}}}}}
	sbe := bson.D{{Key: "queryPlan", Value: bson.D{{Key: "stage", Value: "COLLSCAN"}}}, {Key: "slotBasedPlan", Value: bson.D{{Key: "stages", Value: "[1] scan"}}}}
	raw, err := bson.Marshal(bson.D{{Key: "winningPlan", Value: classic}})
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		WinningPlan bson.D `bson:"winningPlan"`
	}
	if err := bson.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		plan bson.D
		want []string
	}{
		{decoded.WinningPlan, []string{"LIMIT", "FETCH", "SORT_MERGE", "IXSCAN", "IXSCAN"}},
		{sbe, []string{"COLLSCAN"}},
	} {
		if got := planStages(tc.plan); !slices.Equal(got, tc.want) {
			t.Errorf("planStages = %v, want %v", got, tc.want)
		}
	}
}
