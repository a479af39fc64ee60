package consume

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// fetchWait bounds one pull request, so shutdown is noticed promptly.
const fetchWait = 5 * time.Second

// Run consumes until ctx ends, then stops fetching, lets in-flight attempts
// finish for up to Options.Drain, and hands back the rest.
//
// Tasks are pulled only for workers that are free at that moment. A task
// handed to this process starts its ack-wait at once; one left waiting in a
// local buffer behind busy workers would outlive it, be given to another
// replica by JetStream, and then be delivered twice. Parked tasks wait at
// most maxPark, far within ack-wait.
func (d *Dispatcher) Run(ctx context.Context, cons jetstream.Consumer) error {
	// Attempts run on their own context: shutdown must not cut them off
	// mid-request, only after the drain period.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	stopExpiry := d.expireParked(work)
	for {
		free := d.lanes.reserve(ctx)
		if free == 0 {
			break
		}
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			d.lanes.release(free)
			if ctx.Err() != nil {
				break
			}
			d.log.Warn("fetch tasks", zap.Error(err))
			select { // a lasting failure must not spin
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		used := 0
		for msg := range batch.Messages() {
			used++
			wg.Go(func() { d.handle(work, msg) })
		}
		cancel()
		d.lanes.release(free - used)
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			d.log.Warn("fetch tasks", zap.Error(err))
			if used == 0 { // the consumer is gone, say: a lasting failure must not spin
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}
	stopExpiry()
	for _, j := range d.lanes.drain() {
		j.wake <- handBack
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.opts.Drain):
		d.log.Warn("drain period over: handing back in-flight tasks")
		cancelWork()
		<-done
	}
	return nil
}

// expireParked hands back, every tenth of maxPark, the parked tasks that
// waited too long, until the returned stop is called.
func (d *Dispatcher) expireParked(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(d.lanes.admit.maxPark / 10)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				for _, j := range d.lanes.expired(now) {
					j.wake <- handBack
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
