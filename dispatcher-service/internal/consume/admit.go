package consume

import "time"

// What admission decides for a task whose endpoint it knows.
type verdictKind int

const (
	// start: make the attempt now.
	start verdictKind = iota
	// park: wait here for one of the endpoint's slots; the endpoint is fast,
	// so a slot frees within a fraction of maxPark.
	park
	// handBack: return the task to the stream for later; it holds nothing
	// here meanwhile.
	handBack
)

type verdict struct {
	kind verdictKind
	// slow: the attempt is carried by the slow pool from its start.
	slow bool
	// delay: when a handed-back task comes back.
	delay time.Duration
}

// laneView is what admission knows of one endpoint on this dispatcher.
type laneView struct {
	inFlight, limit, queued int
	// slow: the endpoint's attempts take longer than slowAfter (on average,
	// or one in flight now does).
	slow    bool
	latency time.Duration
}

// poolView is what admission knows of the whole dispatcher.
type poolView struct {
	slowHeld, parked int
}

type admitOptions struct {
	// slowBudget caps the attempts the slow pool carries at once: what all
	// slow endpoints together may take.
	slowBudget int
	// parkBudget caps the tasks parked at once, so that parked tasks never
	// take every worker from the fetch loop.
	parkBudget int
	// maxPark is how long a task may wait parked.
	maxPark time.Duration
}

// admit decides what happens to a task of endpoint l. Slow endpoints never
// hold a worker: they start only within the slow pool's budget and are
// otherwise handed back, to come back once their endpoint is likely to have
// room. A fast endpoint at its limit parks the task if the wait is short,
// so that a busy healthy endpoint does not churn its tasks through the
// stream; beyond that its tasks are handed back too.
func admit(l laneView, p poolView, o admitOptions) verdict {
	if l.slow {
		if l.inFlight < l.limit && p.slowHeld < o.slowBudget {
			return verdict{kind: start, slow: true}
		}
		return verdict{kind: handBack, delay: slowComeBack(l.latency)}
	}
	if l.inFlight < l.limit {
		return verdict{kind: start}
	}
	if l.queued < parkCap(l, o.maxPark) && p.parked < o.parkBudget {
		return verdict{kind: park}
	}
	return verdict{kind: handBack, delay: min(max(l.latency, 50*time.Millisecond), time.Second)}
}

// parkCap is how many tasks may wait for the endpoint's slots: as many as it
// finishes within half of maxPark at its current pace, and one round of
// its limit while its pace is unknown.
func parkCap(l laneView, maxPark time.Duration) int {
	if l.latency <= 0 {
		return l.limit
	}
	rounds := int((maxPark / 2) / l.latency)
	return l.limit * max(rounds, 1)
}

// slowComeBack is when a slow endpoint's handed-back task returns: about one
// attempt's duration later, when a slot is likely free, and at least a
// second, so that a backlog of thousands does not spin through the stream.
func slowComeBack(latency time.Duration) time.Duration {
	if latency <= 0 {
		return 5 * time.Second
	}
	return min(max(latency, time.Second), 30*time.Second)
}
