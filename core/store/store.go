// Package store keeps Convoy's resources in MongoDB (or anything speaking
// its wire protocol, such as the embedded FerretDB).
//
// Two rules shape every query here. Hot paths read and write by `_id` alone:
// on the embedded store that is the only filter that does not scan. And no
// write needs a transaction: each state change is a single-document write,
// and ids derived from their inputs make retried writes idempotent.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"convoy/core/secretbox"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// ErrNotFound is returned when a resource does not exist (or is not in the
// group it was asked for).
var ErrNotFound = errors.New("not found")

// ErrDuplicate is returned when a unique key is already taken.
var ErrDuplicate = errors.New("already exists")

// Collection names.
const (
	collGroups       = "groups"
	collAPIKeys      = "api_keys"
	collApplications = "applications"
	collEndpoints    = "endpoints"
	collEvents       = "events"
	collIdempotency  = "idempotency_keys"
	collDeliveries   = "deliveries"
	collMetaEvents   = "meta_events"
	collEventTypes   = "event_types"
	// collEventTypeNames holds one document per catalog name, keyed by
	// group and name: the `_id` is what keeps names unique on every store,
	// FerretDB (which has no secondary indexes here) included.
	collEventTypeNames = "event_type_names"
	// collRoutingVersions holds one counter per group, moved on every change
	// to its endpoints, so that a cache of them knows when to reload.
	collRoutingVersions = "routing_versions"
	collPortalLinks     = "portal_links"
	collAuditLog        = "audit_log"
)

// Store is the MongoDB-backed store. It is safe for concurrent use.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	// index, when set, answers which documents a list, sweep or retention
	// query selects (see Index).
	index Index
	// bulkMu lets one bulk update command run at a time (see maxBulk).
	bulkMu sync.Mutex
	// keyring seals and opens the fields of sealedDocs; nil stores them
	// in plain text.
	keyring *secretbox.Keyring
	// registry is the client's: it seals and opens with keyring.
	registry *bson.Registry
	// beforeReseal, set by tests, runs between a rotation's read of a
	// document and its write.
	beforeReseal func(id string)
	// rotateList, set by tests, replaces defaultRotateList.
	rotateList int
}

// Index answers, from indexes of its own, which documents the store's list,
// sweep and retention queries select, for a server that would scan the
// whole collection to answer them (the embedded FerretDB: see package
// sqliteindex). It returns ids; the store reads the documents by `_id`. Each
// method selects exactly what the store's own MongoDB query does.
type Index interface {
	// EventIDs returns up to limit ids of a group's events matching f,
	// newest first, below before unless it is empty.
	EventIDs(ctx context.Context, groupID string, f EventFilter, before string, limit int) ([]string, error)
	// EventIDsBetween returns up to limit ids of events of every group made
	// from `from` to `to`, above after unless it is empty, oldest first.
	EventIDsBetween(ctx context.Context, from, to time.Time, after string, limit int) ([]string, error)
	// DeliveryIDs is EventIDs for deliveries.
	DeliveryIDs(ctx context.Context, groupID string, f DeliveryFilter, before string, limit int) ([]string, error)
	// DeliveryStatusCounts counts every delivery DeliveryIDs would list
	// for f (no limit), by status; statuses without one may be absent.
	DeliveryStatusCounts(ctx context.Context, groupID string, f DeliveryFilter) (map[string]int64, error)
	// EndpointDeliveryIDs returns up to limit ids of an endpoint's
	// deliveries in a status, oldest first.
	EndpointDeliveryIDs(ctx context.Context, endpointID, status string, limit int) ([]string, error)
	// OverdueDeliveryIDs returns up to limit ids of deliveries that are not
	// final and were due before `before`.
	OverdueDeliveryIDs(ctx context.Context, before time.Time, limit int) ([]string, error)
	// OldIDs returns up to limit ids of a group's documents in collection
	// that retention deletes at cutoff (see DeleteOlderThan).
	OldIDs(ctx context.Context, collection, groupID string, cutoff time.Time, limit int) ([]string, error)
	// Documents returns every document of collection whose fields equal
	// the values given (strings; the first field is the one indexed). ok
	// is false when it cannot serve that query: the store asks the server.
	Documents(ctx context.Context, collection string, eq []FieldValue) (docs []bson.Raw, ok bool, err error)
	// StoredIDs returns which of ids have a document in collection.
	StoredIDs(ctx context.Context, collection string, ids []string) (map[string]bool, error)
	// DocumentsByID returns the documents of collection with the given
	// ids, in the order of ids (those not stored left out), without the
	// top-level fields named in omit.
	DocumentsByID(ctx context.Context, collection string, ids []string, omit []string) ([]bson.Raw, error)
	// AuditIDs returns up to limit ids of a group's audit entries (every
	// group's when groupID is empty), newest first, below before unless it
	// is empty.
	AuditIDs(ctx context.Context, groupID, before string, limit int) ([]string, error)
}

// FieldValue is a string field's value a query selects by.
type FieldValue struct{ Field, Value string }

// Option configures a Store.
type Option func(*Store)

// WithKeyring makes the store encrypt the secrets listed in sealedDocs with
// kr's active key and read them with any of its keys. Without it secrets are
// written in plain text and a sealed one cannot be read.
func WithKeyring(kr *secretbox.Keyring) Option { return func(s *Store) { s.keyring = kr } }

// WithIndex makes the store ask ix which documents its list, sweep and
// retention queries select, instead of asking the server.
func WithIndex(ix Index) Option { return func(s *Store) { s.index = ix } }

// Open connects to uri and uses database name. It does not wait for the
// server; call Ping for that.
func Open(ctx context.Context, uri, name string, opts ...Option) (*Store, error) {
	s := &Store{}
	for _, o := range opts {
		o(s)
	}
	s.registry = newRegistry(s.keyring)
	copts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(5 * time.Second).
		SetConnectTimeout(5 * time.Second).
		SetRegistry(s.registry)
	client, err := mongo.Connect(copts)
	if err != nil {
		return nil, fmt.Errorf("connect to mongodb: %w", err)
	}
	s.client, s.db = client, client.Database(name)
	return s, nil
}

// Close disconnects, and closes the index when it has files open.
func (s *Store) Close(ctx context.Context) error {
	if c, ok := s.index.(io.Closer); ok {
		_ = c.Close()
	}
	return s.client.Disconnect(ctx)
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
}

func (s *Store) coll(name string) *mongo.Collection { return s.db.Collection(name) }

// EnsureSchema creates every collection and the indexes a real MongoDB needs
// for the list filters, paging and sweeps (on FerretDB, only the collections). It is idempotent and safe to run
// from every replica at start.
func (s *Store) EnsureSchema(ctx context.Context) error {
	existing, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	have := map[string]bool{}
	for _, n := range existing {
		have[n] = true
	}
	for _, n := range []string{collGroups, collAPIKeys, collApplications, collEndpoints, collEvents, collIdempotency, collDeliveries, collMetaEvents, collEventTypes, collEventTypeNames, collRoutingVersions, collEncryption, collPortalLinks, collAuditLog, collVerifications} {
		if have[n] {
			continue
		}
		if err := s.db.CreateCollection(ctx, n); err != nil && !isNamespaceExists(err) {
			return fmt.Errorf("create collection %s: %w", n, err)
		}
	}
	ferret, err := s.isFerretDB(ctx)
	if err != nil {
		return err
	}
	if ferret {
		// FerretDB's SQLite backend keeps every secondary index up to date on
		// each write but never uses one to answer a query; only `_id` lookups
		// are pushed down (the embedded stack adds that index itself, and the
		// list indexes an Index reads: see package sqliteindex). There
		// the indexes below would only cost: with them, each delivery insert
		// or update re-parses the document once per index, and end-to-end
		// throughput was 480/s instead of 700/s.
		return nil
	}
	for coll, models := range indexes() {
		if err := s.ensureIndexes(ctx, s.coll(coll), models); err != nil {
			return err
		}
	}
	return nil
}

// isFerretDB reports whether the server is FerretDB, which adds its own
// version to the buildInfo answer.
func (s *Store) isFerretDB(ctx context.Context) (bool, error) {
	var info struct {
		FerretDBVersion *string `bson:"ferretdbVersion"`
	}
	if err := s.client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, fmt.Errorf("buildInfo: %w", err)
	}
	return info.FerretDBVersion != nil, nil
}

// ensureIndexes creates the indexes a collection lacks, one at a time.
// Asking for an index that exists is a no-op on MongoDB, but crashes the
// embedded store's connection when several are asked for at once, so only
// missing ones are created.
func (s *Store) ensureIndexes(ctx context.Context, c *mongo.Collection, models []mongo.IndexModel) error {
	specs, err := c.Indexes().ListSpecifications(ctx)
	if err != nil {
		return fmt.Errorf("list indexes on %s: %w", c.Name(), err)
	}
	have := map[string]bool{}
	for _, spec := range specs {
		have[string(spec.KeysDocument)] = true
	}
	for _, m := range models {
		keys, err := bson.Marshal(m.Keys)
		if err != nil {
			return fmt.Errorf("encode index keys: %w", err)
		}
		if have[string(keys)] {
			continue
		}
		if _, err := c.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("create index on %s: %w", c.Name(), err)
		}
	}
	return nil
}

func indexes() map[string][]mongo.IndexModel {
	idx := func(keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			dir := 1
			if k == "_id" {
				dir = -1 // newest first
			}
			d = append(d, bson.E{Key: k, Value: dir})
		}
		return mongo.IndexModel{Keys: d}
	}
	return map[string][]mongo.IndexModel{
		collAPIKeys:      {idx("group_id", "uid")},
		collApplications: {idx("group_id", "_id"), idx("group_id", "owner_id", "_id")},
		collEventTypes:   {idx("group_id", "_id")},
		collEndpoints:    {idx("app_id", "_id"), idx("group_id", "_id")},
		// A time range is an `_id` range (an event's created_at is its id's
		// time), and retention deletes by `_id` too, so no created_at index.
		collEvents: {
			idx("group_id", "_id"),
			idx("group_id", "app_id", "_id"),
			idx("group_id", "event_type", "_id"),
		},
		collIdempotency: {idx("group_id", "created_at")},
		collDeliveries: {
			idx("group_id", "_id"),
			idx("group_id", "event_id", "_id"),
			idx("group_id", "app_id", "_id"),
			idx("group_id", "endpoint_id", "_id"),
			idx("group_id", "status", "_id"),
			idx("group_id", "event_type", "_id"),
			idx("endpoint_id", "status", "_id"),
			idx("status", "metadata.next_send_time"),
		},
		collMetaEvents:  {idx("group_id", "_id"), idx("group_id", "created_at")},
		collPortalLinks: {idx("group_id", "app_id", "uid"), idx("app_id")},
		collAuditLog:    {idx("group_id", "_id")},
	}
}

func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.Code == 48 || ce.Name == "NamespaceExists")
}

// findByIDs reads the documents of coll with the given ids, in their
// order, leaving out those not found. With an index it reads them in a
// query per 500 ids from the embedded store's rows; otherwise each is one
// read by `_id`, eight at a time. A projection may only exclude fields.
func findByIDs[T any](ctx context.Context, s *Store, coll string, ids []string, projection bson.D) ([]T, error) {
	if s.index != nil {
		omit := make([]string, len(projection))
		for i, e := range projection {
			omit[i] = e.Key
		}
		docs, err := s.index.DocumentsByID(ctx, coll, ids, omit)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", coll, err)
		}
		return decodeAll[T](s, coll, docs)
	}
	c := s.coll(coll)
	found := make([]*T, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, id := range ids {
		g.Go(func() error {
			var opts []options.Lister[options.FindOneOptions]
			if projection != nil {
				opts = append(opts, options.FindOne().SetProjection(projection))
			}
			var doc T
			err := findByID(gctx, c, id, &doc, opts...)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", c.Name(), err)
			}
			found[i] = &doc
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]T, 0, len(ids))
	for _, d := range found {
		if d != nil {
			out = append(out, *d)
		}
	}
	return out, nil
}

// findByID loads the document with the given `_id` into out.
func findByID(ctx context.Context, c *mongo.Collection, id string, out any, opts ...options.Lister[options.FindOneOptions]) error {
	err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, opts...).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrNotFound
	}
	return err
}
