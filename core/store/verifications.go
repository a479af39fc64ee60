package store

import (
	"context"
	"time"

	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// collVerifications holds the endpoints waiting on the ownership
// handshake. It stays small (only pending endpoints), so listing it whole
// is cheap on every store.
const collVerifications = "endpoint_verifications"

// PutVerification stores or replaces an endpoint's pending verification.
func (s *Store) PutVerification(ctx context.Context, v *model.PendingVerification) error {
	_, err := s.coll(collVerifications).ReplaceOne(ctx, byID(v.EndpointID), v, options.Replace().SetUpsert(true))
	return err
}

// ListVerifications returns up to limit pending verifications.
func (s *Store) ListVerifications(ctx context.Context, limit int) ([]model.PendingVerification, error) {
	cur, err := s.coll(collVerifications).Find(ctx, bson.D{}, options.Find().SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var out []model.PendingVerification
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ClaimVerification takes the item for its caller until `until`, unless
// another holds an unexpired lease; it reports whether the caller has it.
// The filter is more than an `_id`, which is fine on this small collection.
func (s *Store) ClaimVerification(ctx context.Context, endpointID string, until time.Time) (bool, error) {
	filter := bson.D{
		{Key: "_id", Value: endpointID},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "lease_until", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "lease_until", Value: bson.D{{Key: "$lt", Value: now()}}}},
		}},
	}
	res, err := s.coll(collVerifications).UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "lease_until", Value: until}}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

// DeleteVerification removes an endpoint's pending verification; removing
// one that is gone is not an error.
func (s *Store) DeleteVerification(ctx context.Context, endpointID string) error {
	_, err := s.coll(collVerifications).DeleteOne(ctx, byID(endpointID))
	return err
}

// SetEndpointVerification records a handshake's outcome on the endpoint
// without touching its other settings, which a user may be changing at the
// same time. status and the rate limit are set when not empty / nil.
func (s *Store) SetEndpointVerification(ctx context.Context, endpointID string, v model.EndpointVerification, status string, rateLimit *int32, rateWindow time.Duration) error {
	set := bson.D{{Key: "verification", Value: v}, {Key: "updated_at", Value: now()}}
	if status != "" {
		set = append(set, bson.E{Key: "status", Value: status})
	}
	if rateLimit != nil {
		set = append(set, bson.E{Key: "rate_limit", Value: *rateLimit}, bson.E{Key: "rate_limit_duration", Value: rateWindow})
	}
	res, err := s.coll(collEndpoints).UpdateOne(ctx, byID(endpointID), bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}
