package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// CreatePortalLink stores a link (its token's hash is the id).
func (s *Store) CreatePortalLink(ctx context.Context, l *model.PortalLink) error {
	return insertOne(ctx, s.coll(collPortalLinks), l)
}

// PortalLinkByHash finds the link whose token's SHA-256 is hash: a lookup by
// `_id`, the one query the embedded store answers without a scan.
func (s *Store) PortalLinkByHash(ctx context.Context, hash string) (*model.PortalLink, error) {
	var l model.PortalLink
	if err := findByID(ctx, s.coll(collPortalLinks), hash, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// ListPortalLinks lists an application's links newest first.
func (s *Store) ListPortalLinks(ctx context.Context, groupID, appID string, p Page) ([]model.PortalLink, PageInfo, error) {
	filter := bson.D{{Key: "group_id", Value: groupID}, {Key: "app_id", Value: appID}}
	return findPage(ctx, s.coll(collPortalLinks), filter, "uid", p,
		func(l *model.PortalLink) string { return l.UID }, nil)
}

// GetPortalLink finds an application's link by its uid.
func (s *Store) GetPortalLink(ctx context.Context, groupID, appID, uid string) (*model.PortalLink, error) {
	var l model.PortalLink
	err := s.coll(collPortalLinks).FindOne(ctx, bson.D{{Key: "group_id", Value: groupID}, {Key: "app_id", Value: appID}, {Key: "uid", Value: uid}}).Decode(&l)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find portal link: %w", err)
	}
	return &l, nil
}

// DeletePortalLink revokes an application's link by its uid.
func (s *Store) DeletePortalLink(ctx context.Context, groupID, appID, uid string) error {
	res, err := s.coll(collPortalLinks).DeleteOne(ctx, bson.D{{Key: "group_id", Value: groupID}, {Key: "app_id", Value: appID}, {Key: "uid", Value: uid}})
	if err != nil {
		return fmt.Errorf("delete portal link: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchAPIKey records when a key was last used. It writes by `_id` only.
func (s *Store) TouchAPIKey(ctx context.Context, hash string, at time.Time) error {
	_, err := s.coll(collAPIKeys).UpdateOne(ctx, byID(hash), bson.D{{Key: "$set", Value: bson.D{{Key: "last_used_at", Value: at}}}})
	if err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	return nil
}
