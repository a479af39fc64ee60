package convoy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	convoy "convoy/sdk/go"
	"convoy/sdk/go/internal/gen"
)

// openapiPath is the API's reference document, in the gateway's sources.
const openapiPath = "../../api-gateway/internal/httpapi/openapi.json"

func readSpec(t *testing.T) []byte {
	t.Helper()
	doc, err := os.ReadFile(openapiPath)
	if err != nil {
		t.Fatalf("read the API's openapi.json: %v", err)
	}
	return doc
}

// The committed generated code is what today's openapi.json generates: an
// operation added to the API without regenerating fails here.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	types, ops, err := gen.Generate(readSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"types_gen.go": types, "operations_gen.go": ops} {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./... in sdk/go", name)
		}
	}
}

// specOperations reads method, path and id of every operation straight from
// the document, without the generator.
func specOperations(t *testing.T) map[string][2]string {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(readSpec(t), &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			switch method {
			case "get", "post", "put", "patch", "delete":
			default:
				continue
			}
			var op struct {
				ID string `json:"operationId"`
			}
			if err := json.Unmarshal(raw, &op); err != nil || op.ID == "" {
				t.Fatalf("%s %s: no operationId", method, path)
			}
			out[op.ID] = [2]string{strings.ToUpper(method), path}
		}
	}
	return out
}

// Every operation of the document has a client method, and calling it
// sends the document's method to the document's path (path parameters
// filled in and escaped). The calls go to a loopback server.
func TestEveryOperationHasAMethod(t *testing.T) {
	want := specOperations(t)
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer key-1" {
			w.WriteHeader(401)
			return
		}
		if r.URL.Path == "/api/v1/openapi.json" {
			_, _ = w.Write([]byte(`{"openapi":"3.1.0"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":true,"message":"ok","data":null}`))
	}))
	defer srv.Close()
	c := convoy.New(srv.URL, "key-1")
	cv := reflect.ValueOf(c)

	ops := convoy.Operations()
	if len(ops) != len(want) {
		t.Errorf("client has %d operations, the document %d", len(ops), len(want))
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	seen := map[string]bool{}
	for _, op := range ops {
		seen[op.ID] = true
		mp, ok := want[op.ID]
		if !ok {
			t.Errorf("client operation %s is not in the document", op.ID)
			continue
		}
		if op.Method != mp[0] || op.Path != mp[1] {
			t.Errorf("%s: client %s %s, document %s %s", op.ID, op.Method, op.Path, mp[0], mp[1])
		}
		m := cv.MethodByName(op.Func)
		if !m.IsValid() {
			t.Errorf("%s: no method %s", op.ID, op.Func)
			continue
		}
		// Path parameters get distinct values that need escaping; bodies
		// and parameters are nil.
		args := []reflect.Value{reflect.ValueOf(context.Background())}
		n := 0
		wantPath := param.ReplaceAllStringFunc(op.Path, func(string) string {
			n++
			return "p" + string(rune('0'+n)) + "%2Fx"
		})
		for i := 1; i < m.Type().NumIn(); i++ {
			in := m.Type().In(i)
			if in.Kind() == reflect.String {
				args = append(args, reflect.ValueOf("p"+string(rune('0'+i))+"/x"))
			} else {
				args = append(args, reflect.Zero(in))
			}
		}
		mu.Lock()
		got = got[:0]
		mu.Unlock()
		out := m.Call(args)
		if err, _ := out[len(out)-1].Interface().(error); err != nil {
			t.Errorf("%s: %v", op.ID, err)
			continue
		}
		mu.Lock()
		if len(got) != 1 || got[0] != op.Method+" "+wantPath {
			t.Errorf("%s: sent %v, want %s %s", op.ID, got, op.Method, wantPath)
		}
		mu.Unlock()
	}
	var missing []string
	for id := range want {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("document operations without a client method: %v", missing)
	}
}
