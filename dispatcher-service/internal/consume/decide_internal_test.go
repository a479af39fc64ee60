package consume

import (
	"net/http"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/core/retryschedule"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/outbound"
	queuev1 "convoy/proto/convoy/queue/v1"
)

func TestDecide(t *testing.T) {
	now := time.Unix(1_700_000_000, 0).UTC()
	linear := model.Strategy{Type: model.StrategyLinear, Duration: 100, RetryCount: 3}
	ok := deliver.Outcome{Attempt: model.Attempt{Status: true, HTTPStatus: 200}, Result: outbound.Result{StatusCode: 200}}
	failed := func(code int, header http.Header) deliver.Outcome {
		return deliver.Outcome{Attempt: model.Attempt{HTTPStatus: int32(code), Error: "endpoint answered"}, Result: outbound.Result{StatusCode: code, Header: header}}
	}
	for _, tc := range []struct {
		name       string
		attempt    int32
		epStatus   string
		disable    bool
		out        deliver.Outcome
		status     string
		retryIn    time.Duration // 0: no retry
		epBecomes  string
		wantTrials int32
	}{
		{"2xx is Success", 1, model.EndpointActive, true, ok, model.StatusSuccess, 0, "", 1},
		{"2xx makes a pending endpoint active", 2, model.EndpointPending, true, ok, model.StatusSuccess, 0, model.EndpointActive, 2},
		{"failure with attempts left is Retry on the strategy", 1, model.EndpointActive, true, failed(500, nil), model.StatusRetry, 100 * time.Second, "", 1},
		{"Retry-After on a 429 overrides the strategy", 2, model.EndpointActive, true, failed(429, http.Header{"Retry-After": {"7"}}), model.StatusRetry, 7 * time.Second, "", 2},
		{"Retry-After on a 500 does not", 2, model.EndpointActive, true, failed(500, http.Header{"Retry-After": {"7"}}), model.StatusRetry, 100 * time.Second, "", 2},
		{"last attempt failed is Failure and disables", 3, model.EndpointActive, true, failed(500, nil), model.StatusFailure, 0, model.EndpointInactive, 3},
		{"without disable_endpoint the endpoint stays", 3, model.EndpointActive, false, failed(500, nil), model.StatusFailure, 0, "", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := &queuev1.DeliveryTask{DeliveryId: "d1", Attempt: tc.attempt, RetryLimit: 3}
			ep := &model.Endpoint{UID: "e1", Status: tc.epStatus}
			g := &model.Group{Config: model.GroupConfig{Strategy: linear, DisableEndpoint: tc.disable}}
			d := decide(task, ep, g, tc.out, retryschedule.Policy{MaxRetryAfter: time.Hour}, now)
			if d.update.Status != tc.status || d.endpointStatus != tc.epBecomes || d.update.Trials == nil || d.update.Trials.NumTrials != tc.wantTrials {
				t.Fatalf("decision %+v (trials %+v), want %s, endpoint %q, %d trials", d.update, d.update.Trials, tc.status, tc.epBecomes, tc.wantTrials)
			}
			if tc.retryIn == 0 {
				if d.retry != nil || d.update.Trials.NextSendTime != nil {
					t.Fatalf("a final decision queues a retry: %+v", d.retry)
				}
				return
			}
			due := now.Add(tc.retryIn)
			if d.retry == nil || !d.retry.DueAt.AsTime().Equal(due) || d.retry.Task.Attempt != tc.attempt+1 || !d.update.Trials.NextSendTime.Equal(due) {
				t.Fatalf("retry %+v, next send %v; want attempt %d due %v", d.retry, d.update.Trials.NextSendTime, tc.attempt+1, due)
			}
		})
	}
}
