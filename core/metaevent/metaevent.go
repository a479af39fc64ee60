// Package metaevent is a group's operational (meta) events: the types, the
// data each carries, and the Emitter that services call when something
// worth telling the group's operators happens to an endpoint or a delivery.
//
// Emitting is cheap when a group has meta events off or does not want the
// type: one read of the group through a short-TTL cache, no store write and
// no publish. When it wants one, the event is published to the CONVOY_META
// work-queue stream and the dispatcher's meta consumer stores, signs and
// delivers it, apart from the regular delivery path.
//
// Callers pass the data shapes of this package (EndpointOf, FailureAlert,
// Circuit, DeliveryOf), never a model type with secrets, and use EmitOnce
// with a key naming the occurrence wherever a redelivered task or another
// replica may report the same thing again (queue.MsgID of the attempt's
// task, or the endpoint id and the circuit's opened_at). A failed emit is
// logged by the caller, never a reason to fail or retry the work reported.
package metaevent

import (
	"slices"

	"convoy/core/model"
)

// The meta event types, as groups name them in config.meta_event.event_types.
const (
	// EndpointDisabled: an endpoint became inactive, by its retries running
	// out or by a user.
	EndpointDisabled = "endpoint.disabled"
	// EndpointEnabled: a user re-enabled an inactive endpoint.
	EndpointEnabled = "endpoint.enabled"
	// EndpointCircuitOpened: an endpoint's circuit breaker opened.
	EndpointCircuitOpened = "endpoint.circuit_opened"
	// EndpointCircuitClosed: an endpoint's circuit breaker closed again.
	EndpointCircuitClosed = "endpoint.circuit_closed"
	// EndpointFailureAlert: an endpoint's run of consecutive failures reached
	// 50, 70 or 90 % of the run that disables it.
	EndpointFailureAlert = "endpoint.failure_alert"
	// DeliveryFailed: a delivery's retries are exhausted (status Failure).
	DeliveryFailed = "eventdelivery.failed"
	// DeliveryFailing: a delivery's attempt failed, its third or a later
	// one, and another attempt is coming.
	DeliveryFailing = "eventdelivery.failing"
)

// Types lists every meta event type, for validation and documentation.
var Types = []string{
	EndpointDisabled, EndpointEnabled, EndpointCircuitOpened, EndpointCircuitClosed,
	EndpointFailureAlert, DeliveryFailed, DeliveryFailing,
}

// Known reports whether t is a meta event type.
func Known(t string) bool { return slices.Contains(Types, t) }

// Wanted reports whether a group with cfg is sent meta events of type t:
// meta events are on, have somewhere to go, and the group asked for t (an
// empty list asks for every type).
func Wanted(cfg model.MetaEventConfig, t string) bool {
	return cfg.IsEnabled && cfg.URL != "" && (len(cfg.EventTypes) == 0 || slices.Contains(cfg.EventTypes, t))
}

// FailingFromAttempt is the first failed attempt that sends
// eventdelivery.failing.
const FailingFromAttempt = 3

// DeliveryEventType is the meta event an attempt's outcome calls for, or ""
// for none: eventdelivery.failed when the delivery ended in Failure,
// eventdelivery.failing when attempt number `attempt` (1-based) failed, was
// the third or a later one, and left the delivery in Retry.
func DeliveryEventType(status string, attempt int32) string {
	switch {
	case status == model.StatusFailure:
		return DeliveryFailed
	case status == model.StatusRetry && attempt >= FailingFromAttempt:
		return DeliveryFailing
	}
	return ""
}

// AlertPercents are the shares of the disabling run of consecutive failures
// at which endpoint.failure_alert is sent.
var AlertPercents = []int{50, 70, 90}

// FailureAlertLevel is the alert level (50, 70 or 90) that the consecutive
// failures-th failure in a row reaches, out of threshold failures that
// disable the endpoint, or 0 when it reaches none it had not reached one
// failure earlier. Where two levels fall on the same failure (small
// thresholds), the higher one is answered, so each failure sends at most one
// alert; the failure that reaches the threshold itself sends none (the
// endpoint.disabled that follows says more).
func FailureAlertLevel(consecutive, threshold int64) int {
	if threshold <= 0 || consecutive <= 0 || consecutive >= threshold {
		return 0
	}
	level := 0
	for _, p := range AlertPercents {
		// Level p is reached at the first count c with c*100 >= p*threshold.
		reachedNow := consecutive*100 >= int64(p)*threshold
		reachedBefore := (consecutive-1)*100 >= int64(p)*threshold
		if reachedNow && !reachedBefore {
			level = p
		}
	}
	return level
}
