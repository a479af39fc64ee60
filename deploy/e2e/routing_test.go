package e2e

import (
	"strings"
	"testing"
	"time"
)

// Routing on one stack: payload filters, the event-type catalog's
// enforcement, broadcast and owner fan-out, and precheck, each in a group of
// its own so the cases run in parallel.
func TestRouting(t *testing.T) {
	s := startStack(t)
	newGroup := func(t *testing.T, config map[string]any) string {
		var g resource
		s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "routing", "config": config}, &g)
		return "/api/v1/groups/" + g.UID
	}
	create := func(t *testing.T, path string, body any) string {
		t.Helper()
		var r resource
		s.must(201, "POST", path, body, &r)
		return r.UID
	}
	groupOf := func(G string) string { return strings.TrimPrefix(G, "/api/v1/groups/") }
	precheck := func(t *testing.T, G string, body any) int {
		t.Helper()
		var res struct{ Endpoints int }
		s.must(200, "POST", G+"/events/precheck", body, &res)
		return res.Endpoints
	}

	t.Run("filters", func(t *testing.T) {
		t.Parallel()
		G := newGroup(t, nil)
		app := create(t, G+"/applications", map[string]any{"name": "shop"})
		big, gold, plain := newReceiver(t), newReceiver(t), newReceiver(t)
		create(t, G+"/applications/"+app+"/endpoints", map[string]any{"url": big.URL,
			"filter": map[string]any{"body": map[string]any{"amount": map[string]any{"$gte": 1000}, "items.sku": "a-1"}}})
		create(t, G+"/applications/"+app+"/endpoints", map[string]any{"url": gold.URL,
			"filter": map[string]any{"headers": map[string]any{"X-Tier": "gold"}}})
		create(t, G+"/applications/"+app+"/endpoints", map[string]any{"url": plain.URL})

		small := map[string]any{"app_id": app, "event_type": "invoice.paid", "data": map[string]any{"amount": 5, "items": []any{map[string]any{"sku": "a-1"}}}}
		if n := precheck(t, G, small); n != 1 {
			t.Errorf("precheck of the small event = %d, want 1", n)
		}
		ev1 := create(t, G+"/events", small)
		large := map[string]any{"app_id": app, "event_type": "invoice.paid", "custom_headers": map[string]string{"x-tier": "gold"},
			"data": map[string]any{"amount": 5000, "items": []any{map[string]any{"sku": "b-2"}, map[string]any{"sku": "a-1"}}}}
		if n := precheck(t, G, large); n != 3 {
			t.Errorf("precheck of the large gold event = %d, want 3", n)
		}
		ev2 := create(t, G+"/events", large)
		storedDeliveries(t, s, groupOf(G), ev1, 1)
		storedDeliveries(t, s, groupOf(G), ev2, 3)
		eventually(t, 20*time.Second, "the deliveries to arrive", func() bool {
			return len(plain.requests()) == 2 && len(big.requests()) == 1 && len(gold.requests()) == 1
		})
		for name, r := range map[string]*receiver{"amount filter": big, "header filter": gold} {
			if got := r.requests()[0].header.Get("X-Convoy-Event-ID"); got != ev2 {
				t.Errorf("%s endpoint got event %s, want only %s", name, got, ev2)
			}
		}

		var res struct{ Matches bool }
		s.must(200, "POST", G+"/filters/test", map[string]any{"filter": map[string]any{"body": map[string]any{"tags": map[string]any{"$in": []string{"vip"}}}},
			"payload": map[string]any{"tags": []string{"eu", "vip"}}}, &res)
		if !res.Matches {
			t.Error("filter test: $in on an array element does not match")
		}
		s.must(200, "POST", G+"/filters/test", map[string]any{"filter": map[string]any{"body": map[string]any{"tags": "us"}},
			"payload": map[string]any{"tags": []string{"eu", "vip"}}}, &res)
		if res.Matches {
			t.Error("filter test: an absent array element matches")
		}
		code, env := s.call("POST", G+"/applications/"+app+"/endpoints", adminKey, map[string]any{"url": plain.URL,
			"filter": map[string]any{"body": map[string]any{"amount": map[string]any{"$gtx": 5}}}}, nil)
		if code != 400 || !strings.Contains(env.Message, `filter.body.amount: unknown operator "$gtx"`) {
			t.Errorf("bad operator: %d %q", code, env.Message)
		}
	})

	t.Run("event types enforced", func(t *testing.T) {
		t.Parallel()
		G := newGroup(t, map[string]any{"enforce_event_types": true})
		app := create(t, G+"/applications", map[string]any{"name": "shop"})
		recv := newReceiver(t)
		create(t, G+"/applications/"+app+"/endpoints", map[string]any{"url": recv.URL})
		create(t, G+"/event-types", map[string]any{"name": "invoice.paid", "description": "An invoice was paid",
			"schema": map[string]any{"type": "object", "required": []string{"invoice"}, "properties": map[string]any{
				"invoice": map[string]any{"type": "string"}, "amount": map[string]any{"type": "integer", "minimum": 0}}},
			"example": map[string]any{"invoice": "in_1", "amount": 4200}})
		code, env := s.call("POST", G+"/event-types", adminKey, map[string]any{"name": "invoice.paid"}, nil)
		if code != 409 {
			t.Errorf("duplicate event type name: %d %q, want 409", code, env.Message)
		}
		code, env = s.call("POST", G+"/event-types", adminKey, map[string]any{"name": "bad", "schema": map[string]any{"type": 5}}, nil)
		if code != 400 || !strings.Contains(env.Message, "schema does not compile") {
			t.Errorf("schema that does not compile: %d %q", code, env.Message)
		}

		valid := create(t, G+"/events", map[string]any{"app_id": app, "event_type": "invoice.paid", "data": map[string]any{"invoice": "in_1", "amount": 1}})
		storedDeliveries(t, s, groupOf(G), valid, 1)
		for _, tt := range []struct {
			name, typ string
			data      any
			want      string
		}{
			{"failing the schema", "invoice.paid", map[string]any{"invoice": "in_1", "amount": -3}, "at /amount: "},
			{"missing a property", "invoice.paid", map[string]any{"amount": 3}, "missing property 'invoice'"},
			{"unknown type", "invoice.lost", map[string]any{}, `event_type "invoice.lost" is not in the group's event-type catalog`},
		} {
			body := map[string]any{"app_id": app, "event_type": tt.typ, "data": tt.data}
			code, env := s.call("POST", G+"/events", adminKey, body, nil)
			if code != 400 || !strings.Contains(env.Message, tt.want) {
				t.Errorf("%s: %d %q, want 400 with %q", tt.name, code, env.Message, tt.want)
			}
			if code, _ := s.call("POST", G+"/events/precheck", adminKey, body, nil); code != 400 {
				t.Errorf("%s: precheck answered %d, want 400", tt.name, code)
			}
		}
	})

	t.Run("broadcast and fanout", func(t *testing.T) {
		t.Parallel()
		G := newGroup(t, nil)
		owners := []string{"acme", "acme", "globex"}
		var recvs []*receiver
		var apps []string
		for _, owner := range owners {
			r := newReceiver(t)
			app := create(t, G+"/applications", map[string]any{"name": "app", "owner_id": owner})
			create(t, G+"/applications/"+app+"/endpoints", map[string]any{"url": r.URL, "events": []string{"invoice.*"}})
			create(t, G+"/applications/"+app+"/endpoints", map[string]any{"url": r.URL, "events": []string{"user.*"}})
			recvs, apps = append(recvs, r), append(apps, app)
		}
		var acme page[struct {
			UID     string `json:"uid"`
			OwnerID string `json:"owner_id"`
		}]
		s.must(200, "GET", G+"/applications?owner_id=acme", nil, &acme)
		if len(acme.Content) != 2 || acme.Content[0].OwnerID != "acme" {
			t.Errorf("applications of acme: %+v", acme.Content)
		}

		broadcast := map[string]any{"event_type": "invoice.paid", "data": map[string]any{"n": 1}, "idempotency_key": "bc-1"}
		if n := precheck(t, G, broadcast); n != 3 {
			t.Errorf("precheck of the broadcast = %d, want 3", n)
		}
		var ev struct {
			UID   string `json:"uid"`
			AppID string `json:"app_id"`
		}
		s.must(201, "POST", G+"/events/broadcast", broadcast, &ev)
		if ev.AppID != "" {
			t.Errorf("broadcast event app_id = %q, want none", ev.AppID)
		}
		var again resource
		s.must(201, "POST", G+"/events/broadcast", broadcast, &again)
		if again.UID != ev.UID {
			t.Errorf("repeated broadcast answered %s, want the original %s", again.UID, ev.UID)
		}
		ds := storedDeliveries(t, s, groupOf(G), ev.UID, 3)
		var apps3 []string
		for _, d := range ds {
			var full struct {
				AppID string `json:"app_id"`
			}
			s.must(200, "GET", G+"/eventdeliveries/"+d.UID, nil, &full)
			apps3 = append(apps3, full.AppID)
		}
		for _, a := range apps {
			if !strings.Contains(strings.Join(apps3, ","), a) {
				t.Errorf("no broadcast delivery for application %s (deliveries' apps %v)", a, apps3)
			}
		}

		fanout := map[string]any{"owner_id": "acme", "event_type": "invoice.paid", "data": map[string]any{"n": 2}}
		if n := precheck(t, G, fanout); n != 2 {
			t.Errorf("precheck of acme's fan-out = %d, want 2", n)
		}
		fev := create(t, G+"/events/fanout", fanout)
		storedDeliveries(t, s, groupOf(G), fev, 2)
		eventually(t, 20*time.Second, "every delivery to arrive", func() bool {
			return len(recvs[0].requests()) == 2 && len(recvs[1].requests()) == 2 && len(recvs[2].requests()) == 1
		})
		if got := recvs[2].requests()[0].header.Get("X-Convoy-Event-ID"); got != ev.UID {
			t.Errorf("globex got event %s, want only the broadcast %s", got, ev.UID)
		}
		if n := precheck(t, G, map[string]any{"owner_id": "nobody", "event_type": "invoice.paid", "data": map[string]any{}}); n != 0 {
			t.Errorf("precheck for an owner without applications = %d", n)
		}
	})
}
