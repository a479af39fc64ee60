package catalog

import (
	"errors"
	"strings"
	"testing"
)

const invoiceSchema = `{
  "type": "object",
  "required": ["invoice", "amount"],
  "properties": {
    "invoice": {"type": "string"},
    "amount": {"type": "integer", "minimum": 0},
    "lines": {"type": "array", "items": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}}
  }
}`

func TestValidate(t *testing.T) {
	s, err := Compile([]byte(invoiceSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload string
		pointer string
		reason  string
	}{
		{"valid", `{"invoice": "in_1", "amount": 4200}`, "", ""},
		{"valid with lines", `{"invoice": "in_1", "amount": 1, "lines": [{"sku": "a"}]}`, "", ""},
		{"missing property", `{"invoice": "in_1"}`, "", "missing property 'amount'"},
		{"wrong type", `{"invoice": "in_1", "amount": "4200"}`, "/amount", "want integer"},
		{"below minimum", `{"invoice": "in_1", "amount": -1}`, "/amount", "minimum"},
		{"nested", `{"invoice": "in_1", "amount": 1, "lines": [{"sku": "a"}, {"sku": 7}]}`, "/lines/1/sku", "want string"},
		{"not an object", `[1]`, "", "want object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate([]byte(tt.payload))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want valid", err)
				}
				return
			}
			v, ok := errors.AsType[*Violation](err)
			if !ok {
				t.Fatalf("Validate = %v, want a violation", err)
			}
			if v.Pointer != tt.pointer || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("violation = %q %q, want pointer %q and a reason with %q", v.Pointer, v.Reason, tt.pointer, tt.reason)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ schema, want string }{
		{`{"type": 5}`, "type"},
		{`{"type": "object"`, "not valid JSON"},
		{`{"$ref": "file:///etc/passwd"}`, "may not load"},
		{`{"$ref": "https://example.com/s.json"}`, "may not load"},
		{`{"minimum": "x"}`, "minimum"},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			_, err := Compile([]byte(tt.schema))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile(%s) = %v, want an error with %q", tt.schema, err, tt.want)
			}
		})
	}
	if _, err := Compile([]byte(`{"$defs": {"sku": {"type": "string"}}, "properties": {"s": {"$ref": "#/$defs/sku"}}}`)); err != nil {
		t.Errorf("a reference inside the schema: %v", err)
	}
}
