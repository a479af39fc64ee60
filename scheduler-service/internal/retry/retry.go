// Package retry holds each failed delivery until its next attempt is due,
// then hands it to the dispatchers.
//
// Waiting retries sit on the CONVOY_RETRY work-queue stream. The schedulers
// share one durable consumer, so each retry is held by one replica at a time
// and re-enqueued once; when a retry is not yet due the scheduler hands it
// back with a delay of exactly the time left. The message id of the
// re-enqueued task names the delivery, budget and attempt, so even a
// duplicate hand-over (a scheduler dying between publish and ack) is dropped
// by the dispatch stream.
package retry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"convoy/core/queue"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Durable is the schedulers' shared consumer on the retry stream.
const Durable = "scheduler"

// Publisher queues dispatch tasks.
type Publisher interface {
	PublishTasks(ctx context.Context, tasks []*queuev1.DeliveryTask) error
}

// EnsureConsumer creates or updates the shared durable consumer.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	c, err := js.CreateOrUpdateConsumer(ctx, queue.StreamRetry, jetstream.ConsumerConfig{
		Durable:    Durable,
		AckPolicy:  jetstream.AckExplicitPolicy,
		AckWait:    30 * time.Second,
		MaxDeliver: -1,
		// Every waiting retry is pending while it waits for its time.
		MaxAckPending: 1_000_000,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure scheduler consumer: %w", err)
	}
	return c, nil
}

// Scheduler re-enqueues due retries.
type Scheduler struct {
	pub      Publisher
	log      *zap.Logger
	now      func() time.Time
	enqueued prometheus.Counter
}

// New returns a Scheduler; it counts re-enqueued retries on reg.
func New(pub Publisher, reg prometheus.Registerer, log *zap.Logger) *Scheduler {
	enqueued := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "convoy_scheduler_retries_enqueued_total", Help: "Due retries handed to the dispatchers.",
	})
	reg.MustRegister(enqueued)
	return &Scheduler{pub: pub, log: log, now: time.Now, enqueued: enqueued}
}

// Run consumes until ctx ends.
func (s *Scheduler) Run(ctx context.Context, cons jetstream.Consumer) error {
	// A handful of workers: each message is a publish and an ack.
	work := make(chan jetstream.Msg)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for msg := range work {
				s.handle(context.WithoutCancel(ctx), msg)
			}
		})
	}
	defer func() { close(work); wg.Wait() }()
	for {
		err := s.consume(ctx, cons, work)
		if ctx.Err() != nil {
			return nil
		}
		// The iterator ended by itself (its consumer was deleted, or NATS
		// came back without it): start another once it may exist again.
		s.log.Warn("retry consumer stopped; consuming again", zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// consume hands messages to work until the iterator ends.
func (s *Scheduler) consume(ctx context.Context, cons jetstream.Consumer, work chan<- jetstream.Msg) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(500))
	if err != nil {
		return fmt.Errorf("consume retry stream: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return err
			}
			s.log.Warn("fetch retries", zap.Error(err))
			continue
		}
		work <- msg
	}
}

func (s *Scheduler) handle(ctx context.Context, msg jetstream.Msg) {
	rt, err := queue.DecodeRetry(msg.Data())
	if err != nil {
		s.log.Error("dropping undecodable retry", zap.String("subject", msg.Subject()), zap.Error(err))
		_ = msg.Term()
		return
	}
	if wait := rt.DueAt.AsTime().Sub(s.now()); wait > 0 {
		_ = msg.NakWithDelay(wait)
		return
	}
	if err := s.pub.PublishTasks(ctx, []*queuev1.DeliveryTask{rt.Task}); err != nil {
		s.log.Warn("re-enqueue retry", zap.String("delivery_id", rt.Task.DeliveryId), zap.Error(err))
		_ = msg.NakWithDelay(time.Second)
		return
	}
	s.enqueued.Inc()
	s.log.Debug("retry re-enqueued", zap.String("delivery_id", rt.Task.DeliveryId), zap.Int32("attempt", rt.Task.Attempt))
	_ = msg.Ack()
}
