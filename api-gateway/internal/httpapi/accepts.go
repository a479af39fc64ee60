package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// accepts is everything a route reads from a request besides its path: the
// query parameters, by our names, and the type of its JSON body. The adapter
// refuses anything else before the handler runs, so no input is ever
// silently ignored, and a handler can only read what its route declares.
type accepts struct {
	// query lists the parameters the route reads, by our names. Convoy's
	// name for one of them (queryAliases) is accepted too and arrives under
	// ours.
	query []string
	// body is a zero value of the body struct; nil means the route takes no
	// body (an empty body or {} is still fine).
	body any
}

// Parameter sets shared by several routes.
var (
	cursorPaging    = []string{"per_page", "next_page_cursor"}
	deliveryFilters = []string{"event_id", "app_id", "endpoint_id", "status", "event_type", "start_date", "end_date"}
	// deliveryCountFilters are the list's filters but status: a count
	// answers every status.
	deliveryCountFilters = []string{"event_id", "app_id", "endpoint_id", "event_type", "start_date", "end_date"}
	eventFilters         = []string{"app_id", "event_type", "start_date", "end_date", "idempotency_key"}
)

func params(sets ...[]string) []string { return slices.Concat(sets...) }

// queryAliases maps Convoy v0.5's query parameter names to ours. An alias
// works on a route exactly when the route declares the name it stands for.
var queryAliases = map[string]string{
	"appId":      "app_id",
	"eventId":    "event_id",
	"endpointId": "endpoint_id",
	"groupId":    "group_id",
	"perPage":    "per_page",
	"startDate":  "start_date",
	"endDate":    "end_date",
}

// canonicalQuery checks every parameter of r against the route's list and
// rewrites Convoy's names to ours, so handlers read one name; messages about
// a parameter still name it as the caller wrote it (queryLabel). A
// parameter given under both names counts as given twice.
func (in accepts) canonicalQuery(r *http.Request) (*http.Request, error) {
	if r.URL.RawQuery == "" {
		return r, nil
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return r, badRequest("malformed query string: %v", err)
	}
	var unknown []string
	out := url.Values{}
	sent := map[string][]string{}
	for _, name := range sortedKeys(values) {
		canon := name
		if ours, ok := queryAliases[name]; ok {
			canon = ours
		}
		if !slices.Contains(in.query, canon) {
			unknown = append(unknown, name)
			continue
		}
		out[canon] = append(out[canon], values[name]...)
		sent[canon] = append(sent[canon], name)
	}
	if len(unknown) > 0 {
		return r, badRequest("%s %s (this route accepts: %s)", plural2(len(unknown), "unknown query parameter"), quoteAll(unknown), in.acceptedNames())
	}
	r.URL.RawQuery = out.Encode()
	labels := map[string]string{}
	for canon, names := range sent {
		if len(names) > 1 || names[0] != canon {
			labels[canon] = strings.Join(names, "/")
		}
	}
	if len(labels) == 0 {
		return r, nil
	}
	return r.WithContext(context.WithValue(r.Context(), queryLabelsKey{}, labels)), nil
}

// acceptedNames lists the route's parameters, each with Convoy's name for
// it where there is one.
func (in accepts) acceptedNames() string {
	if len(in.query) == 0 {
		return "none"
	}
	names := make([]string, len(in.query))
	for i, n := range in.query {
		names[i] = n
		for alias, ours := range queryAliases {
			if ours == n {
				names[i] = n + " (" + alias + ")"
			}
		}
	}
	return strings.Join(names, ", ")
}

type queryLabelsKey struct{}

// queryLabels maps our parameter names to the names the caller used, where
// they differ.
func queryLabels(r *http.Request) map[string]string {
	m, _ := r.Context().Value(queryLabelsKey{}).(map[string]string)
	return m
}

type bodyKey struct{}

// validator is a body type that refuses some values it decodes: a field a
// dialect sends that we accept only where it asks for nothing we lack.
type validator interface {
	validate() error
}

// decodeDeclaredBody decodes the body into a new value of the route's body
// type and keeps it in the request context for bodyAs. A route without a
// body type still reads the body, so that any field sent is refused.
func (a *API) decodeDeclaredBody(r *http.Request, in accepts) (*http.Request, error) {
	if in.body == nil {
		var none struct{}
		if err := a.decodeBody(r, &none); err != nil {
			return r, err
		}
		return r, nil
	}
	dst := reflect.New(reflect.TypeOf(in.body))
	if err := a.decodeBody(r, dst.Interface()); err != nil {
		return r, err
	}
	if v, ok := dst.Interface().(validator); ok {
		if err := v.validate(); err != nil {
			return r, err
		}
	}
	return r.WithContext(context.WithValue(r.Context(), bodyKey{}, dst.Interface())), nil
}

// bodyAs returns the decoded body of r as a *T: the route's body type
// itself, or the body of ours a dialect's body type extends. A handler
// asking for a type its route does not declare is a programming error,
// caught by the route tests.
func bodyAs[T any](r *http.Request) *T {
	v := r.Context().Value(bodyKey{})
	if t, ok := v.(*T); ok {
		return t
	}
	if ext, ok := v.(extension); ok {
		if t, ok := ext.ours().(*T); ok {
			return t
		}
	}
	panic("httpapi: handler reads a body of type " + reflect.TypeFor[T]().String() + " its route does not declare")
}

// extension is a dialect's body type: one of ours (embedded) plus the fields
// only that dialect sends.
type extension interface {
	ours() any
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// plural2 pluralises a noun phrase for n items.
func plural2(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
