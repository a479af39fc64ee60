package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"
)

// ListLatency is how long one list query took through the gateway, as a
// console would ask it: page 1, and page 10 reached by following cursors.
type ListLatency struct {
	Query    string  `json:"query"`
	Page1Ms  float64 `json:"page1_ms"`
	Page10Ms float64 `json:"page10_ms"` // 0 when the list has fewer than 10 pages
	Items    int     `json:"items"`     // over the pages read
	Error    string  `json:"error,omitempty"`
}

// Lists is the list-latency phase: every list query at the history the
// bench reached.
type Lists struct {
	StoredEvents int64         `json:"stored_events"`
	Queries      []ListLatency `json:"queries"`
}

// Idle is the whole stack's CPU while nothing is sent: what background work
// (sweeps, retention, indexers) costs.
type Idle struct {
	StoredEvents int64   `json:"stored_events"`
	WindowS      float64 `json:"window_s"`
	// CPUSPerMin is CPU seconds per minute of the four services and the
	// devstack together.
	CPUSPerMin float64 `json:"cpu_s_per_min"`
}

// idleWindow is how long idle CPU is measured; the sweep runs every 30 s,
// so a window sees at least one.
const idleWindow = 35 * time.Second

// idle measures the stack's CPU over idleWindow with no load.
func (r *runner) idle(ctx context.Context, stored int64) Idle {
	start := r.st.sampleCPU(r.clk)
	select {
	case <-ctx.Done():
	case <-time.After(idleWindow):
	}
	end := r.st.sampleCPU(r.clk)
	var sec float64
	for _, p := range CPUDelta(cpuLabels, start, end, r.clkTck, 0) {
		if p.Process != benchLabel {
			sec += p.Seconds
		}
	}
	wall := (end.At - start.At).Seconds()
	out := Idle{StoredEvents: stored, WindowS: round(wall, 1)}
	if wall > 0 {
		out.CPUSPerMin = round(sec*60/wall, 3)
	}
	r.log.Info("idle cpu", zap.Int64("stored_events", stored), zap.Float64("cpu_s_per_min", out.CPUSPerMin))
	return out
}

// lists times every list query the API offers on the bench's group.
func (r *runner) lists(ctx context.Context, stored int64, from, to time.Time) Lists {
	g := "/api/v1/groups/" + r.res.groupID
	mid := from.Add(to.Sub(from) / 2)
	rng := url.Values{"start_date": {mid.Add(-to.Sub(from) / 4).UTC().Format(time.RFC3339)}, "end_date": {mid.UTC().Format(time.RFC3339)}}
	anEvent := r.firstID(ctx, g+"/events?per_page=1")
	queries := []struct{ name, path string }{
		{"events", g + "/events"},
		{"events by application", g + "/events?app_id=" + r.res.appID},
		{"events by event type", g + "/events?event_type=bench.event"},
		{"events by time range", g + "/events?" + rng.Encode()},
		{"events by event type, none", g + "/events?event_type=none.such"},
		{"deliveries", g + "/eventdeliveries"},
		{"deliveries by status Success", g + "/eventdeliveries?status=Success"},
		{"deliveries by status Failure (none)", g + "/eventdeliveries?status=Failure"},
		{"deliveries by application", g + "/eventdeliveries?app_id=" + r.res.appID},
		{"deliveries by endpoint", g + "/eventdeliveries?endpoint_id=" + r.res.endpointID},
		{"deliveries by event", g + "/eventdeliveries?event_id=" + anEvent},
		{"deliveries by event type", g + "/eventdeliveries?event_type=bench.event"},
		{"deliveries by time range", g + "/eventdeliveries?" + rng.Encode()},
		{"deliveries by event type, none", g + "/eventdeliveries?event_type=none.such"},
	}
	out := Lists{StoredEvents: stored}
	for _, q := range queries {
		l := r.timeList(ctx, q.name, q.path)
		r.log.Info("list", zap.String("query", l.Query), zap.Float64("page1_ms", l.Page1Ms), zap.Float64("page10_ms", l.Page10Ms))
		out.Queries = append(out.Queries, l)
	}
	return out
}

type listPage struct {
	Data struct {
		Content []struct {
			UID string `json:"uid"`
		} `json:"content"`
		Pagination struct {
			HasNextPage    bool   `json:"has_next_page"`
			NextPageCursor string `json:"next_page_cursor"`
		} `json:"pagination"`
	} `json:"data"`
}

func (r *runner) timeList(ctx context.Context, name, path string) ListLatency {
	l := ListLatency{Query: name}
	cursor := ""
	for i := range 10 {
		p := path
		if cursor != "" {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			p += sep + "next_page_cursor=" + url.QueryEscape(cursor)
		}
		start := time.Now()
		page, err := r.getPage(ctx, p)
		took := float64(time.Since(start).Microseconds()) / 1000
		if err != nil {
			l.Error = err.Error()
			return l
		}
		l.Items += len(page.Data.Content)
		switch i {
		case 0:
			l.Page1Ms = round(took, 1)
		case 9:
			l.Page10Ms = round(took, 1)
		}
		if !page.Data.Pagination.HasNextPage {
			return l
		}
		cursor = page.Data.Pagination.NextPageCursor
	}
	return l
}

func (r *runner) firstID(ctx context.Context, path string) string {
	page, err := r.getPage(ctx, path)
	if err != nil || len(page.Data.Content) == 0 {
		return "none"
	}
	return page.Data.Content[0].UID
}

func (r *runner) getPage(ctx context.Context, path string) (listPage, error) {
	var page listPage
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.st.gateway+path, nil)
	if err != nil {
		return page, err
	}
	req.Header.Set("Authorization", "Bearer "+r.st.adminKey)
	resp, err := r.client.Do(req)
	if err != nil {
		return page, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return page, fmt.Errorf("GET %s: status %d: %.200s", path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return page, fmt.Errorf("GET %s: %w", path, err)
	}
	return page, nil
}

// writeLists prints the list-latency and idle tables.
func (r *Result) writeLists(b *strings.Builder) {
	if len(r.Lists.Queries) == 0 {
		return
	}
	fmt.Fprintf(b, "\nLISTS at %s stored events (20 per page, through the gateway)\n", commas(r.Lists.StoredEvents))
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\tpage 1 ms\tpage 10 ms\titems\t")
	for _, q := range r.Lists.Queries {
		p10 := "-"
		if q.Page10Ms > 0 {
			p10 = num3(q.Page10Ms)
		}
		cells := []string{q.Query, num3(q.Page1Ms), p10, commas(int64(q.Items))}
		if q.Error != "" {
			cells = append(cells[:1], "error: "+q.Error, "", "")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	_ = tw.Flush()
	c := r.Catchup
	fmt.Fprintf(b, "RECONCILIATION after the load: %s events examined in the %s s it took to catch up, scheduler CPU %s s (%s s per 1,000 events)\n",
		commas(c.Events), num3(c.WaitS), num3(c.SchedulerCPUS), num3(c.PerKEvents))
	if c.Error != "" {
		fmt.Fprintf(b, "  not caught up: %s\n", c.Error)
	}
	fmt.Fprintf(b, "IDLE stack CPU (4 services + devstack): %s CPU s/min empty (%s events), %s CPU s/min with history (%s events, once reconciled)\n",
		num3(r.IdleEmpty.CPUSPerMin), commas(r.IdleEmpty.StoredEvents), num3(r.IdleHistory.CPUSPerMin), commas(r.IdleHistory.StoredEvents))
}
