package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	defaultPerPage = 20
	maxPerPage     = 100
)

// queryParser reads query parameters and collects every problem, so one
// 400 names all the bad parameters at once.
type queryParser struct {
	values url.Values
	errs   []string
	// offset pages by page number instead of cursor (Convoy v0.5's
	// paging: page 1 when none is given).
	offset bool
	// labels are the names the caller used, where not ours.
	labels map[string]string
}

func parseQuery(r *http.Request) (*queryParser, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed query string: %v", err)
	}
	return &queryParser{values: values, offset: dialectOf(r) == convoyV05, labels: queryLabels(r)}, nil
}

// fail records that parameter name (our name) is wrong; the message names
// it as the caller wrote it.
func (q *queryParser) fail(name, problem string) {
	if l, ok := q.labels[name]; ok {
		name = l
	}
	q.errs = append(q.errs, name+" "+problem)
}

// err returns the collected problems as one 400, or nil.
func (q *queryParser) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return badRequest("%s", strings.Join(q.errs, "; "))
}

// single returns a parameter that may appear at most once; empty means
// absent.
func (q *queryParser) single(name string) string {
	vs := q.values[name]
	switch {
	case len(vs) == 0:
		return ""
	case len(vs) > 1:
		q.fail(name, "must be given at most once")
		return ""
	case checkText(name, vs[0]) != nil:
		q.fail(name, "must be valid UTF-8")
		return ""
	}
	return vs[0]
}

// list returns a parameter that may repeat and may hold comma-separated
// values (status=Failure&status=Retry or status=Failure,Retry).
func (q *queryParser) list(name string) []string {
	var out []string
	for _, v := range q.values[name] {
		if checkText(name, v) != nil {
			q.fail(name, "must be valid UTF-8")
			return nil
		}
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// convoyTimeLayout is how Convoy v0.5 clients send startDate and endDate:
// no zone, meaning UTC.
const convoyTimeLayout = "2006-01-02T15:04:05"

// timestamp parses an RFC 3339 parameter (or Convoy's zoneless form, read
// as UTC); absent gives nil.
func (q *queryParser) timestamp(name string) *timestamppb.Timestamp {
	v := q.single(name)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		if t, err = time.ParseInLocation(convoyTimeLayout, v, time.UTC); err != nil {
			q.fail(name, "must be RFC 3339, e.g. 2024-01-02T15:04:05Z")
			return nil
		}
	}
	return timestamppb.New(t)
}

// page reads per_page and next_page_cursor, or for offset pages per_page,
// page and sort.
func (q *queryParser) page() *ingestv1.PageRequest {
	p := &ingestv1.PageRequest{PerPage: defaultPerPage, Cursor: q.single("next_page_cursor")}
	if v := q.single("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			q.fail("per_page", "must be an integer between 1 and 100")
		} else {
			p.PerPage = int32(n)
		}
	}
	if !q.offset {
		return p
	}
	p.Page = 1
	if v := q.single("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			q.fail("page", "must be an integer between 1 and 1000000")
		} else {
			p.Page = int32(n)
		}
	}
	switch strings.ToUpper(q.single("sort")) {
	case "", "DESC":
	case "ASC", "AESC": // AESC is how Convoy v0.5 spelled it
		p.Ascending = true
	default:
		q.fail("sort", "must be ASC or DESC")
	}
	return p
}

// pageOnly parses a list request that takes nothing but paging.
func pageOnly(r *http.Request) (*ingestv1.PageRequest, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	p := q.page()
	return p, q.err()
}

// deliveryFilter reads the delivery list filters.
func (q *queryParser) deliveryFilter() *ingestv1.DeliveryFilter {
	return &ingestv1.DeliveryFilter{
		EventId:    q.single("event_id"),
		AppId:      q.single("app_id"),
		EndpointId: q.single("endpoint_id"),
		Status:     q.list("status"),
		EventType:  q.single("event_type"),
		StartDate:  q.timestamp("start_date"),
		EndDate:    q.timestamp("end_date"),
	}
}

func paginationOf(p *ingestv1.PageInfo, requested *ingestv1.PageRequest) paginationView {
	v := paginationView{
		PerPage:        p.GetPerPage(),
		HasNextPage:    p.GetHasNextPage(),
		NextPageCursor: p.GetNextPageCursor(),
		total:          p.GetTotal(),
		page:           p.GetPage(),
	}
	if v.PerPage == 0 {
		v.PerPage = requested.GetPerPage()
	}
	return v
}
