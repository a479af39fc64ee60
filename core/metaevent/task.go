package metaevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"convoy/core/model"
)

// Task is the CONVOY_META message of one meta event's attempt budget. Body
// is the request body, byte for byte as it is stored, sent and signed.
type Task struct {
	UID        string    `json:"uid"`
	GroupID    string    `json:"group_id"`
	EventType  string    `json:"event_type"`
	Body       []byte    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
	Generation int32     `json:"generation"`
	// RetryLimit is the attempts the budget allows, the first included,
	// from the group's strategy when the budget started.
	RetryLimit int32 `json:"retry_limit"`
}

// Encode is the message data of t.
func (t *Task) Encode() ([]byte, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode meta event task: %w", err)
	}
	return b, nil
}

// DecodeTask reads a CONVOY_META message.
func DecodeTask(data []byte) (*Task, error) {
	var t Task
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("decode meta event task: %w", err)
	}
	if t.UID == "" || t.GroupID == "" || t.EventType == "" || len(t.Body) == 0 {
		return nil, errors.New("decode meta event task: missing uid, group_id, event_type or body")
	}
	return &t, nil
}

// TaskOf is the task of a stored meta event's current attempt budget (for a
// resend).
func TaskOf(m *model.MetaEvent) *Task {
	return &Task{
		UID: m.UID, GroupID: m.GroupID, EventType: m.EventType, Body: []byte(m.Metadata.Raw),
		CreatedAt: m.CreatedAt, Generation: m.Generation, RetryLimit: m.Metadata.RetryLimit,
	}
}

// body is the JSON every meta event request carries.
type body struct {
	EventType string    `json:"event_type"`
	Data      any       `json:"data"`
	CreatedAt time.Time `json:"created_at"`
}
