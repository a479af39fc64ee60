package e2e

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// seriesName matches the series an expression names: ours, and the process
// collector's that every service registers.
var seriesName = regexp.MustCompile(`\b(?:convoy|process)_[a-z0-9_]+\b`)

// monitoredSeries returns every series the dashboard's queries and the
// alerting rules' expressions name, with where each is used.
func monitoredSeries(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	add := func(where, expr string) {
		for _, name := range seriesName.FindAllString(expr, -1) {
			if !slices.Contains(out[name], where) {
				out[name] = append(out[name], where)
			}
		}
	}
	raw, err := os.ReadFile("../grafana/convoy.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			add("dashboard panel "+p.Title, tg.Expr)
		}
	}
	raw, err = os.ReadFile("../prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("alerting rules: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			add("alert "+r.Alert, r.Expr)
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d series found in the dashboard and the rules: are the files read right?", len(out))
	}
	return out
}

// Every series the dashboard and the alerting rules query is one the running
// services export on their ops addresses (after some traffic, so that
// labelled series have appeared).
func TestDashboardAndAlertsNameExportedSeries(t *testing.T) {
	t.Parallel()
	used := monitoredSeries(t)
	s := startStack(t)
	recv := newReceiver(t, 500) // a failed attempt, then a success: both outcomes, a retry
	group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 3}}, recv.URL)
	for range 2 {
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{
			"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]int{"n": 1},
		}, nil)
	}
	eventually(t, 20*time.Second, "3 requests at the receiver", func() bool { return len(recv.requests()) == 3 })

	var missing []string
	deadline := time.Now().Add(20 * time.Second) // queue lag is polled every 5 s
	for {
		exported := map[string]bool{}
		for _, name := range services {
			for series := range scrape(t, s.opsURL(name)) {
				exported[series] = true
			}
		}
		missing = missing[:0]
		for name := range used {
			if !exported[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	sort.Strings(missing)
	for _, name := range missing {
		t.Errorf("%s is exported by no service; used by %v", name, used[name])
	}
}
