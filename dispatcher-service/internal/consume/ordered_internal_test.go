package consume

import (
	"testing"
	"time"

	"convoy/core/model"
	queuev1 "convoy/proto/convoy/queue/v1"
)

func TestNextOrdered(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(3*time.Second), now.Add(-time.Second)
	stored := func(status string, gen, trials int32, next *time.Time) *model.Delivery {
		return &model.Delivery{Status: status, Generation: gen, Metadata: model.DeliveryMetadata{NumTrials: trials, NextSendTime: next}}
	}
	task := &queuev1.DeliveryTask{DeliveryId: "d", Attempt: 1, Generation: 1}
	tests := []struct {
		name   string
		stored *model.Delivery
		want   orderedStep
	}{
		{"not stored: first attempt", nil, orderedStep{action: orderedAttempt, attempt: 1}},
		{"stored Scheduled, held back until now", stored(model.StatusScheduled, 1, 0, &earlier), orderedStep{action: orderedAttempt, attempt: 1}},
		{"retry due later: handed back until then", stored(model.StatusRetry, 1, 2, &later), orderedStep{action: orderedWait, wait: 3 * time.Second, attempt: 3}},
		{"retry due: the next attempt", stored(model.StatusRetry, 1, 2, &earlier), orderedStep{action: orderedAttempt, attempt: 3}},
		{"retry due exactly now", stored(model.StatusRetry, 1, 4, &now), orderedStep{action: orderedAttempt, attempt: 5}},
		{"processing (its dispatcher died mid-attempt): made again", stored(model.StatusProcessing, 1, 1, &earlier), orderedStep{action: orderedAttempt, attempt: 2}},
		{"circuit held it Scheduled after two attempts", stored(model.StatusScheduled, 1, 2, &later), orderedStep{action: orderedAttempt, attempt: 3}},
		{"success: done, the next goes", stored(model.StatusSuccess, 1, 1, nil), orderedStep{action: orderedDone}},
		{"failure after its retries: done", stored(model.StatusFailure, 1, 5, nil), orderedStep{action: orderedDone}},
		{"discarded: done", stored(model.StatusDiscarded, 1, 0, nil), orderedStep{action: orderedDone}},
		{"resent since: this budget's task is done", stored(model.StatusScheduled, 2, 0, &earlier), orderedStep{action: orderedDone}},
		{"store behind the task's budget: attempt as the task says", stored(model.StatusSuccess, 0, 1, nil), orderedStep{action: orderedAttempt, attempt: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextOrdered(task, tc.stored, now); got != tc.want {
				t.Fatalf("nextOrdered = %+v, want %+v", got, tc.want)
			}
		})
	}
}
