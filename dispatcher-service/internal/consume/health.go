package consume

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"convoy/core/metaevent"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/outbound"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// circuitAllows asks the endpoint's circuit breaker whether to attempt. While
// the circuit is open the task goes back until the cooldown ends, costing no
// attempt, and its delivery shows when it will be tried (one write per
// cooldown: the task comes back once per cooldown). probe reports that the
// attempt is the half-open probe.
func (d *Dispatcher) circuitAllows(ctx context.Context, msg jetstream.Msg, t *queuev1.DeliveryTask, ep *model.Endpoint, g *model.Group, firstDelivery bool) (allowed, probe bool, err error) {
	if d.hooks.Breaker == nil || d.listening(ep.UID) {
		return true, false, nil
	}
	timeout := ep.HTTPTimeout
	if timeout <= 0 {
		timeout = model.DefaultHTTPTimeout
	}
	dec, err := d.hooks.Breaker.Check(ctx, ep.UID, g.Config.CircuitBreaker, timeout+5*time.Second)
	if err != nil {
		d.obs.Failed("circuit")
		return false, false, err
	}
	if dec.Allow {
		return true, dec.Probe, nil
	}
	d.obs.Deferred("circuit_open")
	now := d.now()
	wait := dec.Until.Sub(now)
	if wait >= heldBackMarkAfter && (firstDelivery || !firstWrite(t)) {
		due := dec.Until.UTC()
		why := fmt.Sprintf("circuit open: endpoint is not attempted until %s", due.Format(time.RFC3339))
		u := store.DeliveryUpdate{ID: t.DeliveryId, Status: model.StatusScheduled, Description: &why,
			Trials: &store.Trials{NumTrials: t.Attempt - 1, NextSendTime: &due}, At: now.UTC()}
		d.recorder.Mark(ctx, whole(t, g, u))
	}
	return false, false, d.handBack(msg, t, wait)
}

// signalOf is what an attempt says about the endpoint's capacity.
func signalOf(out deliver.Outcome, slowAfter time.Duration) signal {
	switch {
	case out.Attempt.Status:
		if out.Result.Duration > slowAfter {
			return slowSuccess
		}
		return fastSuccess
	case out.Result.StatusCode == 429 || out.Result.StatusCode == 503:
		return overloaded
	case errors.Is(out.Result.Err, outbound.ErrTimeout):
		return overloaded
	case out.Result.Err != nil && !isRefused(out.Result.Err):
		return overloaded // the connection failed
	}
	return neutral
}

func isRefused(err error) bool {
	_, ok := errors.AsType[*outbound.BlockedError](err)
	return ok
}

// observeHealth tells the circuit breaker what the attempt showed and sends
// the operational events it leads to. None of it may fail the task: the
// outcome is already recorded. Each event is keyed by the occurrence (this
// attempt, or the circuit's opening), so a task handled twice sends one.
func (d *Dispatcher) observeHealth(ctx context.Context, t *queuev1.DeliveryTask, ep *model.Endpoint, g *model.Group, out deliver.Outcome, dec decision, probe bool, log *zap.Logger) {
	// The occurrence key is made only when an event goes out: most attempts
	// send none, and the hot path should not format ids for nothing.
	attemptKey := func() string { return queue.MsgID(t) }
	if typ := metaevent.DeliveryEventType(dec.update.Status, t.Attempt); typ != "" {
		d.emit(ctx, log, t.GroupId, typ, attemptKey(), metaevent.DeliveryOf(t, dec.update.Status, &out.Attempt))
	}
	if dec.endpointStatus == model.EndpointInactive {
		disabled := *ep
		disabled.Status = model.EndpointInactive
		d.emit(ctx, log, t.GroupId, metaevent.EndpointDisabled, attemptKey(), metaevent.EndpointOf(&disabled))
	}
	if d.hooks.Breaker == nil || (d.listening(ep.UID) && !probe) {
		return
	}
	ch, err := d.hooks.Breaker.Observe(ctx, ep.UID, g.Config.CircuitBreaker, out.Attempt.Status, probe)
	if err != nil {
		d.obs.Failed("circuit")
		log.Warn("update endpoint health", zap.Error(err))
		return
	}
	circuitKey := func(openedAt *time.Time) string {
		if openedAt == nil {
			return ep.UID
		}
		return ep.UID + "." + strconv.FormatInt(openedAt.UnixMilli(), 10)
	}
	if ch.Opened {
		log.Warn("circuit opened", zap.Float64("failure_rate", ch.State.FailureRate))
		d.emit(ctx, log, t.GroupId, metaevent.EndpointCircuitOpened, circuitKey(ch.State.OpenedAt),
			metaevent.Circuit{Endpoint: metaevent.EndpointOf(ep), FailureRate: ch.State.FailureRate, OpenedAt: ch.State.OpenedAt})
	}
	if ch.Closed {
		log.Info("circuit closed")
		d.emit(ctx, log, t.GroupId, metaevent.EndpointCircuitClosed, circuitKey(ch.OpenedAt),
			metaevent.Circuit{Endpoint: metaevent.EndpointOf(ep), FailureRate: ch.FailureRate, OpenedAt: ch.OpenedAt})
	}
	// The dead-endpoint rule disables the endpoint when one delivery fails
	// every attempt it has: a run of the group's retry_count failures.
	threshold := int64(g.Config.Strategy.RetryCount)
	if level := metaevent.FailureAlertLevel(ch.State.ConsecutiveFailures, threshold); !out.Attempt.Status && level > 0 {
		d.emit(ctx, log, t.GroupId, metaevent.EndpointFailureAlert, attemptKey(), metaevent.FailureAlert{
			Endpoint: metaevent.EndpointOf(ep), ConsecutiveFailures: ch.State.ConsecutiveFailures, Threshold: threshold, Percent: level,
		})
	}
}

func (d *Dispatcher) emit(ctx context.Context, log *zap.Logger, groupID, eventType, key string, data any) {
	if d.hooks.Notifier == nil {
		return
	}
	if err := d.hooks.Notifier.EmitOnce(ctx, groupID, eventType, key, data); err != nil {
		log.Warn("send meta event", zap.String("meta_event_type", eventType), zap.Error(err))
	}
}

// listening reports whether a listener takes the endpoint's attempts.
func (d *Dispatcher) listening(endpointID string) bool {
	return d.hooks.Listeners != nil && d.hooks.Listeners.Attached(endpointID)
}
