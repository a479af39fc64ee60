package store

import (
	"context"
	"fmt"

	"convoy/core/model"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// CountDeliveriesByStatus counts a group's deliveries matching f (its
// Statuses included) by status; every status is present, 0 when none. On
// MongoDB it is one aggregation over the list's filter; on the embedded
// store the index counts, without reading a document.
func (s *Store) CountDeliveriesByStatus(ctx context.Context, groupID string, f DeliveryFilter) (map[string]int64, error) {
	out := make(map[string]int64, len(model.DeliveryStatuses))
	for _, st := range model.DeliveryStatuses {
		out[st] = 0
	}
	if s.index != nil {
		counts, err := s.index.DeliveryStatusCounts(ctx, groupID, f)
		if err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		for st, n := range counts {
			out[st] += n
		}
		return out, nil
	}
	pipeline := bson.A{
		bson.D{{Key: "$match", Value: f.bson(groupID)}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$status"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	}
	cur, err := s.coll(collDeliveries).Aggregate(ctx, pipeline)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	var rows []struct {
		Status string `bson:"_id"`
		N      int64  `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	for _, r := range rows {
		out[r.Status] += r.N
	}
	return out, nil
}
