package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkDecodeEventBody measures what refusing unknown fields costs on
// the hot path, against a plain json.Unmarshal of the same body.
func BenchmarkDecodeEventBody(b *testing.B) {
	body := []byte(`{"app_id":"01J0000000000000000000000A","event_type":"invoice.paid","data":{"invoice":"in_1","amount":4200,"lines":[` +
		strings.Repeat(`{"sku":"abc-123","qty":2,"note":"a line of an invoice"},`, 15) + `{"sku":"last","qty":1}]}}`)
	a := &API{opts: Options{MaxBodyBytes: 1 << 20}}
	b.Run("decodeBody", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			var in eventInput
			if err := a.decodeBody(r, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			buf := new(bytes.Buffer)
			_, _ = buf.ReadFrom(r.Body)
			var in eventInput
			if err := json.Unmarshal(buf.Bytes(), &in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
