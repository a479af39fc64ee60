package store

import (
	"context"

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
