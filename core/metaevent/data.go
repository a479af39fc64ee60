package metaevent

import (
	"strings"
	"time"

	"convoy/core/model"
	queuev1 "convoy/proto/convoy/queue/v1"
)

// Endpoint is an endpoint as the API shows it, without its secrets: the data
// of endpoint.disabled and endpoint.enabled, and the first part of the other
// endpoint events' data.
type Endpoint struct {
	UID               string    `json:"uid"`
	GroupID           string    `json:"group_id"`
	AppID             string    `json:"app_id"`
	URL               string    `json:"url"`
	Description       string    `json:"description"`
	Events            []string  `json:"events"`
	HTTPTimeout       string    `json:"http_timeout"`
	RateLimit         int32     `json:"rate_limit"`
	RateLimitDuration string    `json:"rate_limit_duration"`
	Status            string    `json:"status"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// EndpointOf is ep as meta events show it.
func EndpointOf(ep *model.Endpoint) Endpoint {
	return Endpoint{
		UID: ep.UID, GroupID: ep.GroupID, AppID: ep.AppID, URL: ep.URL, Description: ep.Description,
		Events:            append([]string{}, ep.Events...),
		HTTPTimeout:       shortDuration(ep.HTTPTimeout),
		RateLimit:         ep.RateLimit,
		RateLimitDuration: shortDuration(ep.RateLimitDuration),
		Status:            ep.Status,
		CreatedAt:         ep.CreatedAt.UTC(),
		UpdatedAt:         ep.UpdatedAt.UTC(),
	}
}

// FailureAlert is the data of endpoint.failure_alert: the endpoint, its run
// of consecutive failed attempts, the run that disables it, and the level
// reached (50, 70 or 90).
type FailureAlert struct {
	Endpoint
	ConsecutiveFailures int64 `json:"consecutive_failures"`
	Threshold           int64 `json:"threshold"`
	Percent             int   `json:"percent"`
}

// Circuit is the data of endpoint.circuit_opened and endpoint.circuit_closed:
// the endpoint, the failure rate (0 to 1) that moved its circuit, and when
// the circuit opened (for circuit_closed, when the run that just ended began).
type Circuit struct {
	Endpoint
	FailureRate float64    `json:"failure_rate"`
	OpenedAt    *time.Time `json:"opened_at"`
}

// Delivery is the data of eventdelivery.failed and eventdelivery.failing:
// the delivery's ids, status and trials, and its last attempt's outcome.
type Delivery struct {
	UID         string           `json:"uid"`
	GroupID     string           `json:"group_id"`
	EventID     string           `json:"event_id"`
	AppID       string           `json:"app_id"`
	EndpointID  string           `json:"endpoint_id"`
	EventType   string           `json:"event_type"`
	Status      string           `json:"status"`
	Metadata    DeliveryMetadata `json:"metadata"`
	LastAttempt *LastAttempt     `json:"last_attempt"`
}

// DeliveryMetadata is where the delivery stands in its attempt budget.
type DeliveryMetadata struct {
	NumTrials  int32 `json:"num_trials"`
	RetryLimit int32 `json:"retry_limit"`
}

// LastAttempt is what the delivery's last attempt got.
type LastAttempt struct {
	UID        string    `json:"uid"`
	HTTPStatus int32     `json:"http_status"`
	Error      string    `json:"error"`
	CreatedAt  time.Time `json:"created_at"`
}

// DeliveryOf is the data of a delivery event for the attempt of task t that
// left the delivery in status; last is that attempt.
func DeliveryOf(t *queuev1.DeliveryTask, status string, last *model.Attempt) Delivery {
	d := Delivery{
		UID: t.DeliveryId, GroupID: t.GroupId, EventID: t.EventId, AppID: t.AppId,
		EndpointID: t.EndpointId, EventType: t.EventType, Status: status,
		Metadata: DeliveryMetadata{NumTrials: t.Attempt, RetryLimit: t.RetryLimit},
	}
	if last != nil {
		d.LastAttempt = &LastAttempt{UID: last.UID, HTTPStatus: last.HTTPStatus, Error: last.Error, CreatedAt: last.CreatedAt.UTC()}
	}
	return d
}

// shortDuration writes a duration as the API does: "1m", not "1m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
