package command

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// The command tree against a loopback API: flags and their CONVOY_*
// variables, required flags named, help on every command, and the request
// each command sends.
func TestCommands(t *testing.T) {
	var mu sync.Mutex
	var got []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+string(body))
		mu.Unlock()
		data := `null`
		switch {
		case strings.HasSuffix(r.URL.Path, "/events"):
			data = `{"uid":"ev-1","event_type":"invoice.paid","app_id":"app-1","created_at":"2026-01-02T03:04:05Z"}`
		case strings.HasSuffix(r.URL.Path, "/eventdeliveries"):
			data = `{"content":[{"uid":"del-1","status":"Failure","event_type":"invoice.paid","endpoint_id":"ep-1","metadata":{"num_trials":3}}],"pagination":{"has_next_page":true,"next_page_cursor":"cur-2"}}`
		case strings.HasSuffix(r.URL.Path, "/batchretry"):
			data = `{"retried":1,"ids":["del-1"]}`
		case strings.HasSuffix(r.URL.Path, "/endpoints") && r.Method == "GET":
			data = `{"content":[{"uid":"ep-1","status":"active","url":"https://example.com/h","events":["*"]}],"pagination":{}}`
		case strings.HasSuffix(r.URL.Path, "/endpoints"):
			data = `{"uid":"ep-2","status":"active","url":"https://example.com/new","secret":"s3cret"}`
		}
		_, _ = io.WriteString(w, `{"status":true,"message":"ok","data":`+data+`}`)
	}))
	defer api.Close()
	envWith := func(extra map[string]string) func(string) string {
		m := map[string]string{"CONVOY_URL": api.URL, "CONVOY_API_KEY": "key-1", "CONVOY_GROUP_ID": "grp-1"}
		for k, v := range extra {
			m[k] = v
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		code    int
		out     string // in stdout
		errOut  string // in stderr
		request string // the request sent, "" for none
	}{
		{"usage", nil, nil, 2, "", "Commands:", ""},
		{"help", []string{"--help"}, nil, 0, "", "listen ", ""},
		{"group usage", []string{"deliveries"}, nil, 2, "", "deliveries retry", ""},
		{"command help", []string{"events", "send", "--help"}, nil, 0, "", "--idempotency-key", ""},
		{"listen help names its variables", []string{"listen", "-h"}, nil, 0, "", "$CONVOY_GRPC_ADDR", ""},
		{"events send", []string{"events", "send", "--app", "app-1", "--type", "invoice.paid", "--data", `{"n":1}`, "--header", "X-A: b"}, nil, 0,
			"ev-1", "", `POST /api/v1/groups/grp-1/events Bearer key-1 {"app_id":"app-1","custom_headers":{"X-A":"b"},"data":{"n":1},"event_type":"invoice.paid"}`},
		{"a flag beats its variable", []string{"events", "send", "--group", "grp-9", "--type", "t", "--data", `1`}, map[string]string{"CONVOY_APP_ID": "app-7"}, 0,
			"ev-1", "", `POST /api/v1/groups/grp-9/events Bearer key-1 {"app_id":"app-7","data":1,"event_type":"t"}`},
		{"events send needs --type", []string{"events", "send", "--app", "a", "--data", "1"}, nil, 1, "", "--type is required", ""},
		{"events send checks --data", []string{"events", "send", "--app", "a", "--type", "t", "--data", "{"}, nil, 1, "", "not valid JSON", ""},
		{"deliveries list", []string{"deliveries", "list", "--status", "Failure,Retry", "--endpoint", "ep-1"}, nil, 0,
			"next page: --cursor cur-2", "", "GET /api/v1/groups/grp-1/eventdeliveries?endpoint_id=ep-1&per_page=20&status=Failure&status=Retry Bearer key-1 "},
		{"deliveries retry", []string{"deliveries", "retry", "del-1"}, nil, 0, "del-1", "",
			`POST /api/v1/groups/grp-1/eventdeliveries/batchretry Bearer key-1 {"ids":["del-1"]}`},
		{"deliveries retry needs ids", []string{"deliveries", "retry"}, nil, 1, "", "at least one delivery id", ""},
		{"endpoints list", []string{"endpoints", "list", "--app", "app-1"}, nil, 0, "https://example.com/h", "",
			"GET /api/v1/groups/grp-1/applications/app-1/endpoints Bearer key-1 "},
		{"endpoints create", []string{"endpoints", "create", "--app", "app-1", "--endpoint-url", "https://example.com/new", "--events", "a.*,b"}, nil, 0, "s3cret", "",
			`POST /api/v1/groups/grp-1/applications/app-1/endpoints Bearer key-1 {"events":["a.*","b"],"url":"https://example.com/new"}`},
		{"no key", []string{"endpoints", "list", "--app", "app-1"}, map[string]string{"CONVOY_API_KEY": ""}, 1, "", "--api-key (or $CONVOY_API_KEY) is required", ""},
		{"listen checks --forward-to", []string{"listen", "--endpoint", "ep-1", "--forward-to", "localhost:3000"}, nil, 1, "", "want an http(s) URL", ""},
		{"unknown flag", []string{"endpoints", "list", "--nope"}, nil, 2, "", "flag provided but not defined", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			var out, errOut bytes.Buffer
			code := Main(context.Background(), c.args, &out, &errOut, envWith(c.env))
			if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.errOut) {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out.String(), errOut.String())
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case c.request == "" && len(got) != 0:
				t.Fatalf("sent %v, want nothing", got)
			case c.request != "" && (len(got) != 1 || normalize(got[0]) != normalize(c.request)):
				t.Fatalf("sent %v, want %s", got, c.request)
			}
		})
	}
}

// normalize re-encodes the JSON body at the end of a request line, so that
// key order does not matter.
func normalize(line string) string {
	i := strings.Index(line, " {")
	if i < 0 {
		return line
	}
	var v any
	if json.Unmarshal([]byte(line[i+1:]), &v) != nil {
		return line
	}
	b, _ := json.Marshal(v)
	return line[:i+1] + string(b)
}
