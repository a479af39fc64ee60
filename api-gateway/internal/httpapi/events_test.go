package httpapi

import (
	"bytes"
	"testing"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestEventDataByteExact sends payloads whose bytes a re-encoding would
// change (whitespace, escapes, HTML characters, number spelling, key
// order) and checks ingest gets them, and clients get them back, exactly.
func TestEventDataByteExact(t *testing.T) {
	payloads := []struct {
		name string
		data string
	}{
		{"object with whitespace and escapes", "{\n  \"b\" : 1,\t\"a\":[ 1.0e+2 , -0 ],\r\n  \"s\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\/\",\n  \"html\": \"<a href='x'>&amp;</a>\" }"},
		{"raw unicode", `{"name":"Zoë 🚀","emptyobj":{ },"nothing":null}`},
		{"bare string", `"\u0041BC"`},
		{"bare number", `12345678901234567890123`},
		{"array", `[ true , false , null ]`},
		{"null", `null`},
	}
	h := newHarness(t, Options{})
	for _, p := range payloads {
		t.Run(p.name, func(t *testing.T) {
			body := `{"app_id":"app-1","event_type":"t","data":` + p.data + `}`
			before := len(h.fake.recorded())
			res := h.do(t, "POST", "/api/v1/groups/grp-1/events", body, nil)
			if res.status != 201 {
				t.Fatalf("status = %d; body %s", res.status, res.body)
			}
			calls := h.fake.recorded()[before:]
			got := calls[0].req.(*ingestv1.CreateEventRequest).GetData()
			if !bytes.Equal(got, []byte(p.data)) {
				t.Errorf("ingest got data\n%q\nwant\n%q", got, p.data)
			}
			// The fake echoes the request, so the answer must embed the same bytes.
			if want := []byte(`"data":` + p.data + `}`); !bytes.Contains(res.body, want) {
				t.Errorf("response does not embed the payload as sent:\n%s", res.body)
			}
			res.envelope(t) // still valid JSON
		})
	}

	t.Run("read back through list and get", func(t *testing.T) {
		data := "{ \"k\" :\t\"\\u00e9<>&\" }"
		h.fake.mu.Lock()
		h.fake.events = []*ingestv1.Event{{Uid: "evt-9", Data: []byte(data), CreatedAt: timestamppb.New(fixedCreated)}}
		h.fake.mu.Unlock()
		for _, path := range []string{"/api/v1/groups/grp-1/events", "/api/v1/groups/grp-1/events/evt-9"} {
			res := h.do(t, "GET", path, "", nil)
			if !bytes.Contains(res.body, []byte(`"data":`+data+`}`)) {
				t.Errorf("GET %s altered the payload:\n%s", path, res.body)
			}
			res.envelope(t)
		}
	})
}

func TestAppendRawJSON(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"valid kept", []byte(" [1, 2] "), " [1, 2] "},
		{"empty is null", nil, "null"},
		{"invalid becomes a string", []byte("not json"), `"not json"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendRawJSON(nil, tt.in)); got != tt.want {
				t.Errorf("appendRawJSON(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
