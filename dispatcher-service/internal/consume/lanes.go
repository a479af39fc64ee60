package consume

import (
	"context"
	"sync"
	"time"
)

// lanes is the dispatcher's bookkeeping of capacity: one lane per endpoint
// (its adaptive window, its attempts in flight, the tasks parked for it)
// and two pools. Workers are what the fetch loop pulls tasks for: a task
// holds one while it is prepared, parked or attempted by a fast endpoint.
// The slow pool carries the attempts of slow endpoints, and any attempt
// that has run past slowAfter, without a worker; it has a budget of its
// own, so slow endpoints together take a bounded share and the workers stay
// free for the others.
type lanes struct {
	opts  lanesOptions
	admit admitOptions

	mu       sync.Mutex
	lanes    map[string]*lane
	held     int // workers in use, fetches in flight included
	slowHeld int
	parked   int
	freed    chan struct{} // a worker came free (capacity 1: a latch)
}

type lanesOptions struct {
	workers, perEndpoint int
	slowAfter            time.Duration
}

type lane struct {
	win      window
	inFlight int
	// slowInFlight counts attempts in flight that the slow pool carries.
	slowInFlight int
	queue        []*job
	lastUsed     time.Time
}

// job is one task in this dispatcher's hands.
type job struct {
	endpointID string
	// slow: carried by the slow pool rather than a worker.
	slow     bool
	parkedAt time.Time
	// wake tells a parked job what became of it: start (it has a slot of
	// its lane now) or handBack.
	wake chan verdictKind
}

func newJob(endpointID string) *job {
	return &job{endpointID: endpointID, wake: make(chan verdictKind, 1)}
}

func newLanes(o lanesOptions) *lanes {
	return &lanes{
		opts: o,
		admit: admitOptions{
			slowBudget: max(1, o.workers/4),
			parkBudget: max(1, o.workers/2),
			maxPark:    500 * time.Millisecond,
		},
		lanes: map[string]*lane{},
		freed: make(chan struct{}, 1),
	}
}

// reserve waits until at least one worker is free, takes every free one
// for a fetch, and returns how many (0 once ctx ends).
func (l *lanes) reserve(ctx context.Context) int {
	for ctx.Err() == nil {
		l.mu.Lock()
		n := l.opts.workers - l.held
		if n > 0 {
			l.held += n
			l.mu.Unlock()
			return n
		}
		l.mu.Unlock()
		select {
		case <-l.freed:
		case <-ctx.Done():
		}
	}
	return 0
}

// release gives back n workers.
func (l *lanes) release(n int) {
	if n == 0 {
		return
	}
	l.mu.Lock()
	l.held -= n
	l.mu.Unlock()
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// done ends a job that holds a worker or a slow-pool place and no slot.
func (l *lanes) done(j *job) {
	l.mu.Lock()
	slow := j.slow
	if slow {
		l.slowHeld--
	}
	l.mu.Unlock()
	if !slow {
		l.release(1)
	}
}

// offer asks admission about j, which holds a worker. On start, j has a
// slot of its lane (and, if slow, has moved to the slow pool); on park, j
// waits for its wake; on handBack, the caller hands it back. The caller
// calls done in every case once the task is settled.
func (l *lanes) offer(j *job, now time.Time) verdict {
	l.mu.Lock()
	ln := l.lane(j.endpointID, now)
	v := admit(l.view(ln), poolView{slowHeld: l.slowHeld, parked: l.parked}, l.admit)
	switch v.kind {
	case start:
		l.take(ln, j, v.slow)
	case park:
		j.parkedAt = now
		ln.queue = append(ln.queue, j)
		l.parked++
	}
	l.mu.Unlock()
	if v.kind == start && v.slow {
		l.release(1) // its worker: the slow pool carries it now
	}
	return v
}

func (l *lanes) lane(endpointID string, now time.Time) *lane {
	ln, ok := l.lanes[endpointID]
	if !ok {
		ln = &lane{win: newWindow(l.opts.perEndpoint)}
		l.lanes[endpointID] = ln
	}
	ln.lastUsed = now
	return ln
}

func (l *lanes) view(ln *lane) laneView {
	return laneView{
		inFlight: ln.inFlight, limit: ln.win.limit(), queued: len(ln.queue),
		slow:    ln.slowInFlight > 0 || ln.win.latency > l.opts.slowAfter,
		latency: ln.win.latency,
	}
}

// take gives j a slot of ln; l.mu is held.
func (l *lanes) take(ln *lane, j *job, slow bool) {
	ln.inFlight++
	if slow {
		j.slow = true
		ln.slowInFlight++
		l.slowHeld++
	}
}

// outlasted moves a running attempt that has passed slowAfter to the slow
// pool, freeing its worker for other endpoints' tasks.
func (l *lanes) outlasted(j *job) {
	l.mu.Lock()
	if j.slow {
		l.mu.Unlock()
		return
	}
	j.slow = true
	l.slowHeld++
	l.lanes[j.endpointID].slowInFlight++
	l.mu.Unlock()
	l.release(1)
}

// leave frees j's slot after its attempt (or its hand-back before one),
// folds what an attempt that was made said into the window, and starts the lane's next
// parked task if there is room. j keeps its worker or slow-pool place until
// done.
func (l *lanes) leave(j *job, s signal, took time.Duration, attempted bool, now time.Time) {
	l.mu.Lock()
	ln := l.lanes[j.endpointID]
	ln.inFlight--
	if j.slow {
		ln.slowInFlight--
	}
	if attempted {
		ln.win.observe(s, max(took, time.Microsecond), now)
	}
	for len(ln.queue) > 0 && ln.inFlight < ln.win.limit() {
		n := ln.queue[0]
		ln.queue = ln.queue[1:]
		l.parked--
		l.take(ln, n, false)
		n.wake <- start
	}
	l.mu.Unlock()
}

// expired takes out the parked tasks that have waited maxPark, or whose
// endpoint has turned slow, and forgets lanes idle for idleAfter. The caller
// wakes each returned job with handBack.
func (l *lanes) expired(now time.Time) []*job {
	const idleAfter = 10 * time.Minute
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*job
	for id, ln := range l.lanes {
		slow := l.view(ln).slow
		keep := ln.queue[:0]
		for _, j := range ln.queue {
			if slow || now.Sub(j.parkedAt) >= l.admit.maxPark {
				out = append(out, j)
				l.parked--
				continue
			}
			keep = append(keep, j)
		}
		ln.queue = keep
		if ln.inFlight == 0 && len(ln.queue) == 0 && now.Sub(ln.lastUsed) > idleAfter {
			delete(l.lanes, id)
		}
	}
	return out
}

// drain takes out every parked task, at shutdown.
func (l *lanes) drain() []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*job
	for _, ln := range l.lanes {
		out = append(out, ln.queue...)
		l.parked -= len(ln.queue)
		ln.queue = nil
	}
	return out
}
