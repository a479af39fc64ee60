package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	convoy "convoy/sdk/go"
)

// The Go SDK and the CLI's API commands against the real stack: the
// operations a producer and an operator use, typed both ways.
func TestSDKAndCLI(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	c := convoy.New(s.Gateway, adminKey)
	recv := newReceiver(t, 500) // the first attempt fails, the retry succeeds

	g, err := c.CreateGroup(ctx, &convoy.GroupInput{Name: convoy.Ptr("sdk"), Config: &convoy.GroupConfigInput{
		Strategy: &convoy.StrategyInput{Type: convoy.Ptr("default"), Duration: convoy.Ptr(int64(1)), RetryCount: convoy.Ptr(int32(3))},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Config.Strategy.RetryCount != 3 {
		t.Fatalf("group strategy %+v, want retry_count 3", g.Config.Strategy)
	}
	app, err := c.CreateApplication(ctx, g.UID, &convoy.ApplicationInput{Name: convoy.Ptr("shop")})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.CreateEndpoint(ctx, g.UID, app.UID, &convoy.EndpointCreateInput{URL: convoy.Ptr(recv.URL), Events: []string{"invoice.*"}})
	if err != nil {
		t.Fatal(err)
	}
	if ep.URL != recv.URL || ep.Secret == "" || ep.Status != "active" {
		t.Fatalf("endpoint %+v", ep)
	}

	in := &convoy.EventInput{AppID: app.UID, EventType: "invoice.paid", Data: json.RawMessage(`{"id":"in_1"}`)}
	ev, err := c.CreateEvent(ctx, g.UID, in, &convoy.CreateEventParams{IdempotencyKey: "sdk-e2e-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateEvent(ctx, g.UID, in, &convoy.CreateEventParams{IdempotencyKey: "sdk-e2e-1"})
	if err != nil || again.UID != ev.UID {
		t.Fatalf("repeat with the same key: %v %v, want the original %s", again, err, ev.UID)
	}
	var d convoy.Delivery
	eventually(t, 30*time.Second, "the delivery to succeed on its retry", func() bool {
		page, err := c.ListDeliveries(ctx, g.UID, &convoy.ListDeliveriesParams{EventID: ev.UID})
		if err != nil || len(page.Content) != 1 {
			return false
		}
		d = page.Content[0]
		return d.Status == "Success"
	})
	attempts, err := c.ListAttempts(ctx, g.UID, d.UID)
	if err != nil || len(attempts) != 2 || attempts[0].HTTPStatus != 500 || attempts[1].HTTPStatus != 200 {
		t.Fatalf("attempts %+v (%v), want a 500 then a 200", attempts, err)
	}
	if _, err := c.GetDelivery(ctx, g.UID, "no-such-delivery"); !convoy.IsNotFound(err) {
		t.Fatalf("unknown delivery: %v, want a 404", err)
	}
	var apiErr *convoy.Error
	if _, err := c.CreateEvent(ctx, g.UID, &convoy.EventInput{EventType: "x", Data: json.RawMessage(`1`)}, nil); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "app_id") {
		t.Fatalf("event without app_id: %v, want a 400 naming app_id", err)
	}

	// The CLI, configured by the environment, on the same stack.
	cli := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(binaries(t), "convoy"), args...)
		cmd.Env = []string{"CONVOY_URL=" + s.Gateway, "CONVOY_API_KEY=" + adminKey, "CONVOY_GROUP_ID=" + g.UID}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	out, err := cli("endpoints", "list", "--app", app.UID)
	if err != nil || !strings.Contains(out, ep.UID) || !strings.Contains(out, recv.URL) {
		t.Fatalf("endpoints list: %v\n%s", err, out)
	}
	out, err = cli("endpoints", "create", "--app", app.UID, "--endpoint-url", recv.URL+"/second", "--json")
	var created convoy.Endpoint
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || created.URL != recv.URL+"/second" {
		t.Fatalf("endpoints create: %v\n%s", err, out)
	}
	out, err = cli("events", "send", "--app", app.UID, "--type", "invoice.created", "--data", `{"id":"in_2"}`, "--json")
	var sent convoy.Event
	if err != nil || json.Unmarshal([]byte(out), &sent) != nil || sent.EventType != "invoice.created" {
		t.Fatalf("events send: %v\n%s", err, out)
	}
	eventually(t, 30*time.Second, "the CLI's event's deliveries to be listed", func() bool {
		out, err = cli("deliveries", "list", "--event", sent.UID)
		return err == nil && strings.Count(out, "invoice.created") == 2
	})
	out, err = cli("deliveries", "retry", "--force", d.UID)
	if err != nil || !strings.Contains(out, "1") {
		t.Fatalf("deliveries retry --force: %v\n%s", err, out)
	}
	eventually(t, 30*time.Second, "the force-resent delivery to be attempted again", func() bool {
		as, err := c.ListAttempts(ctx, g.UID, d.UID)
		return err == nil && len(as) == 3 && as[2].HTTPStatus == 200
	})
	if out, err := cli("events", "send", "--app", app.UID, "--type", "x", "--data", "{not json"); err == nil || !strings.Contains(out, "--data: not valid JSON") {
		t.Fatalf("bad --data: %v\n%s", err, out)
	}
	if out, err := cli("deliveries", "list", "--help"); err != nil || !strings.Contains(out, "$CONVOY_GROUP_ID") {
		t.Fatalf("--help: %v\n%s", err, out)
	}
}
