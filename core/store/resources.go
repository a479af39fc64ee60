package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"

	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// byID is the only filter the embedded store answers without a scan.
func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

func insertOne(ctx context.Context, c *mongo.Collection, doc any) error {
	_, err := c.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("insert into %s: %w", c.Name(), err)
	}
	return nil
}

func replaceByID(ctx context.Context, c *mongo.Collection, id string, doc any) error {
	res, err := c.ReplaceOne(ctx, byID(id), doc)
	if err != nil {
		return fmt.Errorf("replace in %s: %w", c.Name(), err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

func deleteByID(ctx context.Context, c *mongo.Collection, id string) error {
	res, err := c.DeleteOne(ctx, byID(id))
	if err != nil {
		return fmt.Errorf("delete from %s: %w", c.Name(), err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// ---- groups ----

// CreateGroup stores a new group.
func (s *Store) CreateGroup(ctx context.Context, g *model.Group) error {
	return insertOne(ctx, s.coll(collGroups), g)
}

// GetGroup loads a group by id.
func (s *Store) GetGroup(ctx context.Context, id string) (*model.Group, error) {
	var g model.Group
	if err := findByID(ctx, s.coll(collGroups), id, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// ListGroups lists groups newest first.
func (s *Store) ListGroups(ctx context.Context, p Page) ([]model.Group, PageInfo, error) {
	return s.ListGroupsNamed(ctx, "", p)
}

// ListGroupsNamed is ListGroups keeping, when name is not empty, only the
// groups of exactly that name.
func (s *Store) ListGroupsNamed(ctx context.Context, name string, p Page) ([]model.Group, PageInfo, error) {
	filter := bson.D{}
	if name != "" {
		filter = append(filter, bson.E{Key: "name", Value: name})
	}
	return findPage(ctx, s.coll(collGroups), filter, "_id", p, func(g *model.Group) string { return g.UID }, nil)
}

// ReplaceGroup writes a group's new state.
func (s *Store) ReplaceGroup(ctx context.Context, g *model.Group) error {
	return replaceByID(ctx, s.coll(collGroups), g.UID, g)
}

// DeleteGroup deletes a group and everything in it. The group document goes
// last, so an interrupted delete can simply be asked for again.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	if _, err := s.GetGroup(ctx, id); err != nil {
		return err
	}
	inGroup := bson.D{{Key: "group_id", Value: id}}
	for _, c := range []string{collAPIKeys, collEndpoints, collApplications, collDeliveries, collEvents, collIdempotency, collMetaEvents, collEventTypes, collEventTypeNames, collRoutingVersions, collPortalLinks, collVerifications} {
		if _, err := s.coll(c).DeleteMany(ctx, inGroup); err != nil {
			return fmt.Errorf("delete group's %s: %w", c, err)
		}
	}
	return deleteByID(ctx, s.coll(collGroups), id)
}

// ---- API keys ----

// CreateAPIKey stores a key (its hash is the id).
func (s *Store) CreateAPIKey(ctx context.Context, k *model.APIKey) error {
	return insertOne(ctx, s.coll(collAPIKeys), k)
}

// APIKeyByHash finds the key whose SHA-256 is hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*model.APIKey, error) {
	var k model.APIKey
	if err := findByID(ctx, s.coll(collAPIKeys), hash, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// ListAPIKeys lists a group's keys newest first, or every group's when
// groupID is empty.
func (s *Store) ListAPIKeys(ctx context.Context, groupID string, p Page) ([]model.APIKey, PageInfo, error) {
	filter := bson.D{}
	if groupID != "" {
		filter = append(filter, bson.E{Key: "group_id", Value: groupID})
	}
	return findPage(ctx, s.coll(collAPIKeys), filter, "uid", p,
		func(k *model.APIKey) string { return k.UID }, nil)
}

// GetAPIKey finds a key by its uid (keys are stored under their hash, so
// this scans; it serves only the admin's key management).
func (s *Store) GetAPIKey(ctx context.Context, uid string) (*model.APIKey, error) {
	var k model.APIKey
	err := s.coll(collAPIKeys).FindOne(ctx, bson.D{{Key: "uid", Value: uid}}).Decode(&k)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find api key: %w", err)
	}
	return &k, nil
}

// DeleteAPIKey revokes a group's key by its uid.
func (s *Store) DeleteAPIKey(ctx context.Context, groupID, uid string) error {
	res, err := s.coll(collAPIKeys).DeleteOne(ctx, bson.D{{Key: "group_id", Value: groupID}, {Key: "uid", Value: uid}})
	if err != nil {
		return fmt.Errorf("delete api key: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// ---- applications ----

// CreateApplication stores a new application.
func (s *Store) CreateApplication(ctx context.Context, a *model.Application) error {
	return insertOne(ctx, s.coll(collApplications), a)
}

// GetApplication loads an application of a group.
func (s *Store) GetApplication(ctx context.Context, groupID, id string) (*model.Application, error) {
	var a model.Application
	if err := findByID(ctx, s.coll(collApplications), id, &a); err != nil {
		return nil, err
	}
	if a.GroupID != groupID {
		return nil, ErrNotFound
	}
	return &a, nil
}

// ApplicationFilter narrows an application list; empty fields match all.
type ApplicationFilter struct {
	// NameContains keeps those whose name contains it, ignoring case.
	NameContains string
	// OwnerID keeps those of that owner.
	OwnerID string
}

// ListApplications lists a group's applications newest first, those f keeps.
func (s *Store) ListApplications(ctx context.Context, groupID string, f ApplicationFilter, p Page) ([]model.Application, PageInfo, error) {
	filter := bson.D{{Key: "group_id", Value: groupID}}
	if f.NameContains != "" {
		filter = append(filter, bson.E{Key: "name", Value: bson.D{
			{Key: "$regex", Value: regexp.QuoteMeta(f.NameContains)}, {Key: "$options", Value: "i"},
		}})
	}
	if f.OwnerID != "" {
		filter = append(filter, bson.E{Key: "owner_id", Value: f.OwnerID})
	}
	return findPage(ctx, s.coll(collApplications), filter, "_id", p,
		func(a *model.Application) string { return a.UID }, nil)
}

// ApplicationsOfOwner returns every application of a group with ownerID
// (for fan-out events).
func (s *Store) ApplicationsOfOwner(ctx context.Context, groupID, ownerID string) ([]model.Application, error) {
	return findAll[model.Application](ctx, s, collApplications, FieldValue{"group_id", groupID}, FieldValue{"owner_id", ownerID})
}

// EndpointsOfGroup returns every endpoint of a group (for broadcasts).
func (s *Store) EndpointsOfGroup(ctx context.Context, groupID string) ([]model.Endpoint, error) {
	return findAll[model.Endpoint](ctx, s, collEndpoints, FieldValue{"group_id", groupID})
}

// decode reads a document the index returned as the client reads one it
// fetched: with the store's registry, which opens sealed secrets.
func (s *Store) decode(raw bson.Raw, v any) error {
	dec := bson.NewDecoder(bson.NewDocumentReader(bytes.NewReader(raw)))
	dec.SetRegistry(s.registry)
	return dec.Decode(v)
}

// decodeAll decodes documents of coll the index returned.
func decodeAll[T any](s *Store, coll string, docs []bson.Raw) ([]T, error) {
	out := make([]T, len(docs))
	for i := range docs {
		if err := s.decode(docs[i], &out[i]); err != nil {
			return nil, fmt.Errorf("decode %s: %w", coll, err)
		}
	}
	return out, nil
}

// findAll returns every document of c whose string fields equal the values
// given, read through the index when it serves the query.
func findAll[T any](ctx context.Context, s *Store, coll string, eq ...FieldValue) ([]T, error) {
	if s.index != nil {
		docs, ok, err := s.index.Documents(ctx, coll, eq)
		if err != nil {
			return nil, err
		}
		if ok {
			return decodeAll[T](s, coll, docs)
		}
	}
	c := s.coll(coll)
	filter := make(bson.D, len(eq))
	for i, fv := range eq {
		filter[i] = bson.E{Key: fv.Field, Value: fv.Value}
	}
	cur, err := c.Find(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("find in %s: %w", c.Name(), err)
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name(), err)
	}
	return out, nil
}

// ReplaceApplication writes an application's new state.
func (s *Store) ReplaceApplication(ctx context.Context, a *model.Application) error {
	return replaceByID(ctx, s.coll(collApplications), a.UID, a)
}

// DeleteApplication deletes an application and its endpoints.
func (s *Store) DeleteApplication(ctx context.Context, groupID, id string) error {
	if _, err := s.GetApplication(ctx, groupID, id); err != nil {
		return err
	}
	if _, err := s.coll(collEndpoints).DeleteMany(ctx, bson.D{{Key: "app_id", Value: id}}); err != nil {
		return fmt.Errorf("delete application's endpoints: %w", err)
	}
	if _, err := s.coll(collPortalLinks).DeleteMany(ctx, bson.D{{Key: "app_id", Value: id}}); err != nil {
		return fmt.Errorf("delete application's portal links: %w", err)
	}
	return deleteByID(ctx, s.coll(collApplications), id)
}

// ---- endpoints ----

// CreateEndpoint stores a new endpoint.
func (s *Store) CreateEndpoint(ctx context.Context, e *model.Endpoint) error {
	return insertOne(ctx, s.coll(collEndpoints), e)
}

// EndpointByID loads an endpoint wherever it belongs (for the dispatcher).
func (s *Store) EndpointByID(ctx context.Context, id string) (*model.Endpoint, error) {
	var e model.Endpoint
	if err := findByID(ctx, s.coll(collEndpoints), id, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// GetEndpoint loads an endpoint of an application of a group.
func (s *Store) GetEndpoint(ctx context.Context, groupID, appID, id string) (*model.Endpoint, error) {
	e, err := s.EndpointByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.GroupID != groupID || e.AppID != appID {
		return nil, ErrNotFound
	}
	return e, nil
}

// ListEndpoints lists an application's endpoints newest first.
func (s *Store) ListEndpoints(ctx context.Context, groupID, appID string, p Page) ([]model.Endpoint, PageInfo, error) {
	filter := bson.D{{Key: "group_id", Value: groupID}, {Key: "app_id", Value: appID}}
	return findPage(ctx, s.coll(collEndpoints), filter, "_id", p, func(e *model.Endpoint) string { return e.UID }, nil)
}

// EndpointsOfApp returns every endpoint of an application (for fan-out).
func (s *Store) EndpointsOfApp(ctx context.Context, appID string) ([]model.Endpoint, error) {
	return findAll[model.Endpoint](ctx, s, collEndpoints, FieldValue{"app_id", appID})
}

// ReplaceEndpoint writes an endpoint's new state.
func (s *Store) ReplaceEndpoint(ctx context.Context, e *model.Endpoint) error {
	return replaceByID(ctx, s.coll(collEndpoints), e.UID, e)
}

// SetEndpointStatus moves an endpoint to status.
func (s *Store) SetEndpointStatus(ctx context.Context, id, status string) error {
	res, err := s.coll(collEndpoints).UpdateOne(ctx, byID(id), bson.D{{Key: "$set", Value: bson.D{
		{Key: "status", Value: status}, {Key: "updated_at", Value: now()},
	}}})
	if err != nil {
		return fmt.Errorf("set endpoint status: %w", err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteEndpoint deletes an endpoint of an application of a group.
func (s *Store) DeleteEndpoint(ctx context.Context, groupID, appID, id string) error {
	if _, err := s.GetEndpoint(ctx, groupID, appID, id); err != nil {
		return err
	}
	return deleteByID(ctx, s.coll(collEndpoints), id)
}

// isOnlyDuplicates reports whether every write error of a bulk insert is a
// duplicate key: the documents are already there, which is success for the
// idempotent inserts of this package.
func isOnlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 {
			return false
		}
	}
	return true
}

// ---- routing versions ----

type routingVersion struct {
	GroupID string `bson:"_id"`
	Group   string `bson:"group_id"`
	Version int64  `bson:"version"`
}

// BumpRoutingVersion records that a group's endpoints or applications
// changed. Call it after the change is written: a reader that sees the new
// version then also sees the change.
func (s *Store) BumpRoutingVersion(ctx context.Context, groupID string) error {
	update := bson.D{
		{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}},
		{Key: "$set", Value: bson.D{{Key: "group_id", Value: groupID}}},
	}
	if _, err := s.coll(collRoutingVersions).UpdateOne(ctx, byID(groupID), update, options.UpdateOne().SetUpsert(true)); err != nil {
		return fmt.Errorf("bump routing version: %w", err)
	}
	return nil
}

// RoutingVersion returns a group's routing version: 0 until the first change.
func (s *Store) RoutingVersion(ctx context.Context, groupID string) (int64, error) {
	var v routingVersion
	err := findByID(ctx, s.coll(collRoutingVersions), groupID, &v)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read routing version: %w", err)
	}
	return v.Version, nil
}

// ApplicationsOfGroup returns every application of a group (for
// broadcasts, which need to know the disabled ones).
func (s *Store) ApplicationsOfGroup(ctx context.Context, groupID string) ([]model.Application, error) {
	return findAll[model.Application](ctx, s, collApplications, FieldValue{"group_id", groupID})
}
