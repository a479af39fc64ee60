package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"convoy/core/verify"
)

type metaEvent struct {
	UID       string `json:"uid"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	Metadata  struct {
		Data       json.RawMessage `json:"data"`
		Raw        string          `json:"raw"`
		NumTrials  int             `json:"num_trials"`
		RetryLimit int             `json:"retry_limit"`
	} `json:"metadata"`
	Attempts []attempt `json:"attempts"`
}

// metaEventsOf lists a group's meta events, newest first.
func metaEventsOf(s *stack, groupID string) []metaEvent {
	var p page[metaEvent]
	s.must(200, "GET", "/api/v1/groups/"+groupID+"/meta-events", nil, &p)
	return p.Content
}

// waitMetaEvents waits until the group has n meta events, the newest in
// status, and returns them.
func waitMetaEvents(t *testing.T, s *stack, groupID string, n int, status string) []metaEvent {
	t.Helper()
	var ms []metaEvent
	eventually(t, 20*time.Second, "meta events to arrive", func() bool {
		ms = metaEventsOf(s, groupID)
		return len(ms) == n && ms[0].Status == status
	})
	return ms
}

// waitMetaEvent waits until the group has a meta event of eventType in
// status (with id, when id is not empty), and returns it.
func waitMetaEvent(t *testing.T, s *stack, groupID, eventType, id, status string) metaEvent {
	t.Helper()
	var found metaEvent
	eventually(t, 20*time.Second, eventType+" to be "+status, func() bool {
		for _, m := range metaEventsOf(s, groupID) {
			if m.EventType == eventType && m.Status == status && (id == "" || m.UID == id) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// A group with meta events on hears of an endpoint a user disabled: the
// body is signed in the group's format with the meta secret and verifies at
// a receiver that checks it independently; a failed attempt is retried and
// recorded; the API lists, shows and resends the meta event; and a change
// of the wanted types applies at once.
func TestMetaEventsReachTheGroupsURL(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	metaRecv := newReceiver(t, 500) // fails once, then answers 200
	endpointRecv := newReceiver(t)
	var group struct {
		UID    string `json:"uid"`
		Config struct {
			MetaEvent struct {
				IsEnabled  bool     `json:"is_enabled"`
				URL        string   `json:"url"`
				Secret     string   `json:"secret"`
				EventTypes []string `json:"event_types"`
			} `json:"meta_event"`
		} `json:"config"`
	}
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "meta", "config": map[string]any{
		"signature":  map[string]any{"format": "standard-webhooks"},
		"strategy":   map[string]any{"type": "default", "duration": 1, "retry_count": 3},
		"meta_event": map[string]any{"is_enabled": true, "url": metaRecv.URL, "event_types": []string{"endpoint.disabled"}},
	}}, &group)
	meta := group.Config.MetaEvent
	if !meta.IsEnabled || meta.URL != metaRecv.URL || !strings.HasPrefix(meta.Secret, "whsec_") || len(meta.EventTypes) != 1 {
		t.Fatalf("group meta_event %+v", meta)
	}
	G := "/api/v1/groups/" + group.UID
	var app, ep resource
	s.must(201, "POST", G+"/applications", map[string]any{"name": "shop"}, &app)
	s.must(201, "POST", G+"/applications/"+app.UID+"/endpoints", map[string]any{"url": endpointRecv.URL}, &ep)
	epPath := G + "/applications/" + app.UID + "/endpoints/" + ep.UID

	s.must(200, "PUT", epPath, map[string]any{"status": "inactive"}, nil)
	eventually(t, 20*time.Second, "the meta event and its retry to arrive", func() bool { return len(metaRecv.requests()) >= 2 })
	got := metaRecv.requests()
	opts := verify.Options{Format: verify.FormatStandardWebhooks}
	for i, r := range got[:2] {
		if err := verify.Verify(opts, []string{meta.Secret}, r.header, r.body); err != nil {
			t.Fatalf("request %d: the receiver rejects the signature: %v", i, err)
		}
		if string(r.body) != string(got[0].body) || r.header.Get("webhook-id") != got[0].header.Get("webhook-id") {
			t.Fatalf("the retry differs from the first attempt: %s / %s", r.body, got[0].body)
		}
	}
	if err := verify.Verify(opts, []string{ep.Secret}, got[0].header, got[0].body); err == nil {
		t.Fatal("the meta event verified with the endpoint's secret, not the meta secret")
	}
	var body struct {
		EventType string `json:"event_type"`
		Data      struct {
			UID    string `json:"uid"`
			AppID  string `json:"app_id"`
			Status string `json:"status"`
		} `json:"data"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(got[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.EventType != "endpoint.disabled" || body.Data.UID != ep.UID || body.Data.AppID != app.UID ||
		body.Data.Status != "inactive" || !rfc3339UTC.MatchString(body.CreatedAt) {
		t.Fatalf("meta event body %s", got[0].body)
	}
	if strings.Contains(string(got[0].body), ep.Secret) || strings.Contains(string(got[0].body), `"secret`) {
		t.Fatalf("meta event body carries a secret: %s", got[0].body)
	}

	listed := waitMetaEvents(t, s, group.UID, 1, "Success")[0]
	if listed.EventType != "endpoint.disabled" || listed.Metadata.NumTrials != 2 || listed.Metadata.RetryLimit != 3 ||
		listed.Metadata.Raw != string(got[0].body) || listed.Attempts != nil {
		t.Fatalf("listed meta event %+v", listed)
	}
	var one metaEvent
	s.must(200, "GET", G+"/meta-events/"+listed.UID, nil, &one)
	if len(one.Attempts) != 2 || one.Attempts[0].HTTPStatus != 500 || one.Attempts[0].Status ||
		one.Attempts[1].HTTPStatus != 200 || !one.Attempts[1].Status || one.Attempts[0].IPAddress == "" {
		t.Fatalf("meta event attempts %+v, want the failed one then the success", one.Attempts)
	}
	var data struct{ UID string }
	if err := json.Unmarshal(one.Metadata.Data, &data); err != nil || data.UID != ep.UID {
		t.Fatalf("metadata.data %s", one.Metadata.Data)
	}

	var resent metaEvent
	s.must(200, "PUT", G+"/meta-events/"+listed.UID+"/resend", nil, &resent)
	if resent.Status != "Scheduled" || resent.Metadata.NumTrials != 0 {
		t.Fatalf("resent meta event %+v", resent)
	}
	eventually(t, 20*time.Second, "the resent meta event to arrive", func() bool { return len(metaRecv.requests()) >= 3 })
	if again := metaRecv.requests()[2]; string(again.body) != string(got[0].body) {
		t.Fatalf("resend sent %s, want the stored body", again.body)
	}
	eventually(t, 10*time.Second, "the resend to be recorded", func() bool {
		s.must(200, "GET", G+"/meta-events/"+listed.UID, nil, &one)
		return one.Status == "Success" && one.Metadata.NumTrials == 1 && len(one.Attempts) == 3
	})
	if code, env := s.call("PUT", G+"/meta-events/"+ep.UID+"/resend", adminKey, nil, nil); code != http.StatusNotFound {
		t.Fatalf("resend of a missing meta event: %d %s", code, env.Message)
	}

	// Every type from now on: re-enabling the endpoint is told at once.
	s.must(200, "PUT", G, map[string]any{"config": map[string]any{"meta_event": map[string]any{"event_types": []string{}}}}, nil)
	s.must(200, "PUT", epPath, map[string]any{"status": "active"}, nil)
	ms := waitMetaEvents(t, s, group.UID, 2, "Success")
	if ms[0].EventType != "endpoint.enabled" || ms[1].UID != listed.UID {
		t.Fatalf("meta events %+v, want endpoint.enabled newest first", ms)
	}
}
