package filter

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const payload = `{
  "event": "invoice.paid",
  "amount": 4200,
  "currency": "EUR",
  "paid": true,
  "note": null,
  "customer": {"id": "cus_1", "tier": "gold", "address": {"country": "DE"}},
  "tags": ["vip", "eu"],
  "items": [{"sku": "a-1", "qty": 2}, {"sku": "b-7", "qty": 1, "options": ["gift"]}],
  "matrix": [[1, 2], [3]]
}`

func TestMatch(t *testing.T) {
	body, err := Decode([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		filter string
		want   bool
	}{
		{"empty", `{}`, true},
		{"equality", `{"currency": "EUR"}`, true},
		{"equality mismatch", `{"currency": "USD"}`, false},
		{"equality number", `{"amount": 4200}`, true},
		{"equality number as float", `{"amount": 4200.0}`, true},
		{"equality bool", `{"paid": true}`, true},
		{"equality null", `{"note": null}`, true},
		{"equality missing field", `{"missing": "x"}`, false},
		{"several fields all must hold", `{"currency": "EUR", "paid": false}`, false},
		{"dotted path", `{"customer.tier": "gold"}`, true},
		{"deep dotted path", `{"customer.address.country": "DE"}`, true},
		{"nested object is a path", `{"customer": {"address": {"country": "DE"}}}`, true},
		{"nested object mismatch", `{"customer": {"tier": "silver"}}`, false},
		{"dotted and nested mixed", `{"customer.address": {"country": "DE"}}`, true},

		{"$eq", `{"amount": {"$eq": 4200}}`, true},
		{"$eq mismatch", `{"amount": {"$eq": 1}}`, false},
		{"$neq", `{"currency": {"$neq": "USD"}}`, true},
		{"$neq equal", `{"currency": {"$neq": "EUR"}}`, false},
		{"$neq missing field holds", `{"missing": {"$neq": "x"}}`, true},
		{"$gt", `{"amount": {"$gt": 4000}}`, true},
		{"$gt equal", `{"amount": {"$gt": 4200}}`, false},
		{"$gte equal", `{"amount": {"$gte": 4200}}`, true},
		{"$lt", `{"amount": {"$lt": 5000}}`, true},
		{"$lt equal", `{"amount": {"$lt": 4200}}`, false},
		{"$lte equal", `{"amount": {"$lte": 4200}}`, true},
		{"$gt on strings", `{"currency": {"$gt": "DKK"}}`, true},
		{"$gt number against string", `{"currency": {"$gt": 1}}`, false},
		{"range", `{"amount": {"$gte": 1000, "$lt": 5000}}`, true},
		{"range out", `{"amount": {"$gte": 1000, "$lt": 4200}}`, false},
		{"$gt missing field", `{"missing": {"$gt": 0}}`, false},
		{"$in", `{"currency": {"$in": ["USD", "EUR"]}}`, true},
		{"$in none", `{"currency": {"$in": ["USD", "GBP"]}}`, false},
		{"$nin", `{"currency": {"$nin": ["USD", "GBP"]}}`, true},
		{"$nin hit", `{"currency": {"$nin": ["EUR"]}}`, false},
		{"$nin missing field holds", `{"missing": {"$nin": ["x"]}}`, true},
		{"$exist true", `{"customer.tier": {"$exist": true}}`, true},
		{"$exist true on null", `{"note": {"$exist": true}}`, true},
		{"$exist true missing", `{"customer.vat": {"$exist": true}}`, false},
		{"$exist false missing", `{"customer.vat": {"$exist": false}}`, true},
		{"$exist false present", `{"customer.tier": {"$exist": false}}`, false},
		{"$regex", `{"event": {"$regex": "^invoice\\."}}`, true},
		{"$regex no match", `{"event": {"$regex": "^user\\."}}`, false},
		{"$regex on a number", `{"amount": {"$regex": "42"}}`, false},
		{"$or", `{"$or": [{"currency": "USD"}, {"customer.tier": "gold"}]}`, true},
		{"$or none", `{"$or": [{"currency": "USD"}, {"customer.tier": "silver"}]}`, false},
		{"$and", `{"$and": [{"currency": "EUR"}, {"amount": {"$gt": 100}}]}`, true},
		{"$and one fails", `{"$and": [{"currency": "EUR"}, {"amount": {"$gt": 10000}}]}`, false},
		{"$or inside $and", `{"$and": [{"$or": [{"paid": false}, {"amount": 4200}]}, {"currency": "EUR"}]}`, true},
		{"$or beside a field", `{"currency": "EUR", "$or": [{"paid": false}, {"tags": "nope"}]}`, false},

		{"array contains", `{"tags": "vip"}`, true},
		{"array does not contain", `{"tags": "us"}`, false},
		{"array equals whole", `{"tags": ["vip", "eu"]}`, true},
		{"array whole order matters", `{"tags": ["eu", "vip"]}`, false},
		{"array $in element", `{"tags": {"$in": ["us", "eu"]}}`, true},
		{"array $nin element", `{"tags": {"$nin": ["eu"]}}`, false},
		{"array $neq element", `{"tags": {"$neq": "vip"}}`, false},
		{"array $regex element", `{"tags": {"$regex": "^v"}}`, true},
		{"array of objects path", `{"items.sku": "b-7"}`, true},
		{"array of objects path miss", `{"items.sku": "c-9"}`, false},
		{"array of objects $gt", `{"items.qty": {"$gt": 1}}`, true},
		{"array of objects $gt none", `{"items.qty": {"$gt": 2}}`, false},
		{"array index", `{"items.0.sku": "a-1"}`, true},
		{"array index other element", `{"items.0.sku": "b-7"}`, false},
		{"array index out of range", `{"items.5.sku": {"$exist": true}}`, false},
		{"array in array of objects", `{"items.options": "gift"}`, true},
		{"array of objects $exist", `{"items.options": {"$exist": true}}`, true},
		{"nested arrays element", `{"matrix": [3]}`, true},
		{"tags index", `{"tags.1": "eu"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(`{"body": ` + tt.filter + `}`))
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.filter, err)
			}
			if got := f.Match(body, nil); got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestMatchHeaders(t *testing.T) {
	headers := Headers(map[string]string{"x-tenant": "acme", "X-Region": "eu-west-1"})
	tests := []struct {
		filter string
		want   bool
	}{
		{`{"headers": {"X-Tenant": "acme"}}`, true},
		{`{"headers": {"x-tenant": "acme"}}`, true},
		{`{"headers": {"X-Tenant": "other"}}`, false},
		{`{"headers": {"X-Region": {"$regex": "^eu-"}}}`, true},
		{`{"headers": {"$or": [{"x-region": "us-east-1"}, {"x-tenant": "acme"}]}}`, true},
		{`{"headers": {"X-Missing": {"$exist": false}}}`, true},
		{`{"headers": {"X-Tenant": "acme"}, "body": {"a": 1}}`, false},
		{`{"headers": {"X-Tenant": "acme"}, "body": {"a": 2}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := Parse([]byte(tt.filter))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(map[string]any{"a": 2.0}, headers); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		filter string
		want   string
	}{
		{`{"body": {"amount": {"$gtx": 5}}}`, `body.amount: unknown operator "$gtx"`},
		{`{"body": {"a.b": {"$regex": "("}}}`, `body.a.b: invalid $regex "("`},
		{`{"body": {"a": {"$in": "x"}}}`, `body.a: $in needs an array`},
		{`{"body": {"a": {"$nin": 1}}}`, `body.a: $nin needs an array`},
		{`{"body": {"a": {"$exist": "yes"}}}`, `body.a: $exist needs true or false`},
		{`{"body": {"a": {"$gt": true}}}`, `body.a: $gt needs a number or a string`},
		{`{"body": {"a": {"$regex": 1}}}`, `body.a: $regex needs a string`},
		{`{"body": {"$or": {"a": 1}}}`, `body.$or: must be a non-empty array`},
		{`{"body": {"$or": [1]}}`, `body.$or.0: must be a filter document`},
		{`{"body": {"$and": [{"a": {"$bad": 1}}]}}`, `body.$and.0.a: unknown operator "$bad"`},
		{`{"body": {"a": {"$or": [{"b": 1}]}}}`, `body.a: $or applies to filter documents`},
		{`{"body": {"$eq": 1}}`, `body.$eq: operator "$eq" needs a field`},
		{`{"body": {"a..b": 1}}`, `body.a..b: empty path segment`},
		{`{"body": [1]}`, `body: must be a JSON object`},
		{`{"bodies": {}}`, `bodies: unknown part`},
		{`[1]`, `must be a JSON object with body and headers`},
		{`{"headers": {"X-A": {"$gtx": 1}}}`, `headers.X-A: unknown operator "$gtx"`},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			_, err := Parse([]byte(tt.filter))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse(%s) error = %v, want prefix %q", tt.filter, err, tt.want)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "null", "{}", `{"body": {}}`, `{"body": null}`} {
		f, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !f.Empty() || !f.Match(nil, nil) {
			t.Errorf("Parse(%q) is not the empty filter", in)
		}
	}
}

// kibPayload is a 1 KiB event like the ones producers send.
func kibPayload(tb testing.TB) []byte {
	tb.Helper()
	items := make([]map[string]any, 0, 8)
	for i := range 8 {
		items = append(items, map[string]any{"sku": fmt.Sprintf("sku-%04d", i), "qty": i + 1, "price": 19.99 + float64(i)})
	}
	doc := map[string]any{
		"event": "invoice.paid", "invoice": "in_1NZpXJ2eZvKYlo2C", "amount": 4200, "currency": "EUR",
		"customer": map[string]any{"id": "cus_9s6XKzkNRiz8i3", "tier": "gold", "email": "billing@example.com",
			"address": map[string]any{"line1": "1 Main Street", "city": "Berlin", "country": "DE", "postal_code": "10115"}},
		"items": items, "tags": []string{"vip", "eu", "annual"},
		"metadata": map[string]any{"order_id": "ord_000123", "source": "checkout", "note": strings.Repeat("x", 330)},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) < 1000 || len(b) > 1100 {
		tb.Fatalf("payload is %d bytes, want about 1 KiB", len(b))
	}
	return b
}

func BenchmarkMatch(b *testing.B) {
	data := kibPayload(b)
	body, err := Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	f, err := Parse([]byte(`{"body": {"customer.tier": {"$in": ["gold", "platinum"]}, "amount": {"$gte": 1000},
		"items.sku": {"$regex": "^sku-00"}, "$or": [{"currency": "EUR"}, {"customer.address.country": "DE"}],
		"tags": "annual", "metadata.order_id": {"$exist": true}}}`))
	if err != nil {
		b.Fatal(err)
	}
	if !f.Match(body, nil) {
		b.Fatal("benchmark filter does not match its payload")
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Match(body, nil)
	}
}

// BenchmarkDecode is the per-event cost of reading a payload for filters,
// paid once whatever the number of endpoints.
func BenchmarkDecode(b *testing.B) {
	data := kibPayload(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
