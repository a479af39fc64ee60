package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// An ordered endpoint's tasks are on CONVOY_ORDERED under
// convoy.ordered.<endpoint id>.<delivery id>, in the order they were
// published, which is the order their events were accepted (an event is
// answered only once its tasks are stored). Each endpoint has a durable
// consumer of its own that lets one task out at a time (max ack pending 1):
// the next is handed out only once the one before is acknowledged, that is
// once its delivery ended. A task whose attempt failed is not acknowledged
// but handed back until its retry is due, so it holds back the ones behind
// it across restarts of every service: the order lives in the stream.

// OrderedSubject is the subject of an ordered endpoint's delivery task;
// deliveryID "*" matches all of the endpoint's.
func OrderedSubject(endpointID, deliveryID string) string {
	return orderedPrefix + endpointID + "." + deliveryID
}

// OrderedConsumerPrefix starts the name of every ordered endpoint's consumer.
const OrderedConsumerPrefix = "ordered_"

// OrderedConsumer is the name of an ordered endpoint's consumer.
func OrderedConsumer(endpointID string) string { return OrderedConsumerPrefix + endpointID }

// OrderedEndpoint is the endpoint id of an ordered consumer's name, or ""
// when the name is not one.
func OrderedEndpoint(consumer string) string {
	id, ok := strings.CutPrefix(consumer, OrderedConsumerPrefix)
	if !ok {
		return ""
	}
	return id
}

// DefaultOrderedAckWait is the ack-wait an ordered consumer is created with;
// the dispatchers set their own when they take the consumer up.
const DefaultOrderedAckWait = 30 * time.Second

// OrderedConsumerConfig is an ordered endpoint's consumer, holding each
// task for ackWait.
func OrderedConsumerConfig(endpointID string, ackWait time.Duration) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       OrderedConsumer(endpointID),
		FilterSubject: OrderedSubject(endpointID, ">"),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		// One at a time is the whole point: the next task is handed out
		// once this one is acknowledged. A task handed back with a delay
		// stays pending, so it keeps the others behind it.
		MaxAckPending: 1,
		MaxDeliver:    -1,
	}
}

// orderedRecheck is how long a consumer found to exist is taken to exist:
// a NATS that lost its store comes back without it.
const orderedRecheck = time.Minute

// EnsureOrdered makes sure an ordered endpoint's consumer exists, asking
// NATS whatever was found before: the sweep calls it for endpoints with
// tasks waiting, so that tasks whose consumer went missing (a NATS that lost
// its store, an endpoint deleted and its consumer with it) are served again.
func (p *Publisher) EnsureOrdered(ctx context.Context, endpointID string) error {
	return p.ensureOrdered(ctx, endpointID, true)
}

// ensureOrdered makes sure an ordered endpoint's consumer exists before its
// tasks are published; once found, it is asked again only after
// orderedRecheck, unless fresh.
func (p *Publisher) ensureOrdered(ctx context.Context, endpointID string, fresh bool) error {
	if at, ok := p.consumers.Load(endpointID); ok && !fresh && time.Since(at.(time.Time)) < orderedRecheck {
		return nil
	}
	_, err := p.js.Consumer(ctx, StreamOrdered, OrderedConsumer(endpointID))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		_, err = p.js.CreateConsumer(ctx, StreamOrdered, OrderedConsumerConfig(endpointID, DefaultOrderedAckWait))
		if errors.Is(err, jetstream.ErrConsumerExists) {
			err = nil // made meanwhile, by a dispatcher or another replica
		}
	}
	if err != nil {
		return fmt.Errorf("ensure ordered consumer: %w", err)
	}
	p.consumers.Store(endpointID, time.Now())
	return nil
}

// OrderedHead returns the delivery at the head of an ordered endpoint's
// queue, the one the others wait for, or "" when its queue is empty.
func (p *Publisher) OrderedHead(ctx context.Context, endpointID string) (string, error) {
	s, err := p.stream(ctx, StreamOrdered)
	if err != nil {
		return "", err
	}
	return OrderedHead(ctx, s, endpointID)
}

// OrderedHead is the delivery at the head of an ordered endpoint's queue on
// s (the ordered stream), or "".
func OrderedHead(ctx context.Context, s jetstream.Stream, endpointID string) (string, error) {
	msg, err := s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(OrderedSubject(endpointID, "*")))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("ordered head: %w", err)
	}
	return msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:], nil
}
