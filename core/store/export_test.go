package store

import (
	"context"
	"time"

	"convoy/core/ids"
	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// DeliveryIndexModels and EnsureIndexes let the external tests (which may
// import the embedded servers, unlike this package's own) run ensureIndexes.
func DeliveryIndexModels() []mongo.IndexModel { return indexes()[collDeliveries] }

func (s *Store) EnsureIndexes(ctx context.Context, coll string, models []mongo.IndexModel) error {
	return s.ensureIndexes(ctx, s.coll(coll), models)
}

// RawCollection is a collection of the store's database.
func (s *Store) RawCollection(name string) *mongo.Collection { return s.coll(name) }

// Query is one query the store sends a MongoDB for a list, the sweep or
// retention: what a collection's indexes must serve.
type Query struct {
	Name       string
	Collection string
	Filter     bson.D
	Sort       bson.D // empty when unsorted
}

// Queries are the store's list, sweep and retention queries, built by the
// store's own builders, with a value in every filter field the API offers.
func Queries() []Query {
	const g = "grp-1"
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	newest := bson.D{{Key: "_id", Value: -1}}
	page2 := func(f bson.D) bson.D { return withBound(f, "_id", "$lt", ids.At(at)) }
	var out []Query
	for name, f := range map[string]EventFilter{
		"events":                  {},
		"events by app":           {AppID: "app-1"},
		"events by type":          {EventType: "invoice.paid"},
		"events by time":          {Start: at.Add(-time.Hour), End: at},
		"events by app and type":  {AppID: "app-1", EventType: "invoice.paid"},
		"events by type and time": {EventType: "invoice.paid", Start: at.Add(-time.Hour)},
	} {
		out = append(out, Query{name, collEvents, f.bson(g), newest}, Query{name + ", page 2", collEvents, page2(f.bson(g)), newest})
	}
	for name, f := range map[string]DeliveryFilter{
		"deliveries":                     {},
		"deliveries by event":            {EventID: ids.At(at)},
		"deliveries by app":              {AppID: "app-1"},
		"deliveries by endpoint":         {EndpointID: "ep-1"},
		"deliveries by status":           {Statuses: []string{model.StatusFailure}},
		"deliveries by statuses":         {Statuses: []string{model.StatusFailure, model.StatusDiscarded}},
		"deliveries by type":             {EventType: "invoice.paid"},
		"deliveries by time":             {Start: at.Add(-time.Hour), End: at},
		"deliveries by endpoint, status": {EndpointID: "ep-1", Statuses: []string{model.StatusFailure}},
	} {
		out = append(out, Query{name, collDeliveries, f.bson(g), newest}, Query{name + ", page 2", collDeliveries, page2(f.bson(g)), newest})
	}
	out = append(out,
		Query{"sweep", collDeliveries, overdueFilter(at), nil},
		Query{"endpoint replay", collDeliveries, endpointFilter("ep-1", model.StatusDiscarded), endpointSort},
		Query{"meta events", collMetaEvents, bson.D{{Key: "group_id", Value: g}}, newest},
		Query{"audit log", collAuditLog, bson.D{{Key: "group_id", Value: g}}, newest},
		Query{"audit log, page 2", collAuditLog, page2(bson.D{{Key: "group_id", Value: g}}), newest},
		Query{"portal links", collPortalLinks, bson.D{{Key: "group_id", Value: g}, {Key: "app_id", Value: "app-1"}}, bson.D{{Key: "uid", Value: -1}}},
	)
	for _, c := range []string{collEvents, collDeliveries} {
		old := oldFilter(c, g, at)
		out = append(out,
			Query{"retention batch end, " + c, c, old, bson.D{{Key: "_id", Value: 1}}},
			Query{"retention delete, " + c, c, withBound(old, "_id", "$lte", ids.At(at.Add(-time.Hour))), nil})
	}
	for _, c := range []string{collIdempotency, collMetaEvents} {
		out = append(out, Query{"retention, " + c, c, oldFilter(c, g, at), nil})
	}
	return out
}

// IndexKeys are the index keys EnsureSchema creates on a real MongoDB, by
// collection (each `_id` has its own index too).
func IndexKeys() map[string][]bson.D {
	out := map[string][]bson.D{}
	for c, models := range indexes() {
		for _, m := range models {
			out[c] = append(out[c], m.Keys.(bson.D))
		}
	}
	return out
}

// SetBeforeReseal makes f run between a rotation's read of a document and
// its write.
func (s *Store) SetBeforeReseal(f func(id string)) { s.beforeReseal = f }

// SetRotateList makes a rotation list n ids at a time.
func (s *Store) SetRotateList(n int) { s.rotateList = n }
