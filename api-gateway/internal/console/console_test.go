package console

import (
	"context"
	"errors"
	"io/fs"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	hook := func(_ context.Context, token string) (string, error) {
		switch token {
		case "embeddable":
			return "'self' https://app.example.com", nil
		case "broken":
			return "", errors.New("no such link")
		case "injection":
			return "https://a.example; script-src *", nil
		}
		return "", nil
	}
	for _, tc := range []struct {
		name, method, target string
		hook                 bool
		status               int
		contentType          string
		frameAncestors       string // "" means no CSP expected
		location             string
	}{
		{"bare /ui redirects", "GET", "/ui", false, 301, "", "", "/ui/"},
		{"page", "GET", "/ui/", false, 200, "text/html", "'self'", ""},
		{"page by name", "GET", "/ui/index.html", false, 200, "text/html", "'self'", ""},
		{"head", "HEAD", "/ui/", false, 200, "text/html", "'self'", ""},
		{"script", "GET", "/ui/app.js", false, 200, "text/javascript", "'self'", ""},
		{"view module", "GET", "/ui/views/deliveries.js", false, 200, "text/javascript", "'self'", ""},
		{"stylesheet", "GET", "/ui/console.css", false, 200, "text/css", "'self'", ""},
		{"unknown asset", "GET", "/ui/missing.js", false, 404, "", "'self'", ""},
		{"no writes", "POST", "/ui/", false, 405, "", "", ""},
		{"portal without hook", "GET", "/ui/portal?token=embeddable", false, 200, "text/html", "'self'", ""},
		{"portal with its link's sites", "GET", "/ui/portal?token=embeddable", true, 200, "text/html", "'self' https://app.example.com", ""},
		{"portal hook error keeps self", "GET", "/ui/portal?token=broken", true, 200, "text/html", "'self'", ""},
		{"portal hook answer that would add a directive is refused", "GET", "/ui/portal?token=injection", true, 200, "text/html", "'self'", ""},
		{"portal without token", "GET", "/ui/portal", true, 200, "text/html", "'self'", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{}
			if tc.hook {
				opts.FrameAncestors = hook
			}
			rec := httptest.NewRecorder()
			New(opts).ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
			res := rec.Result()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			if loc := res.Header.Get("Location"); loc != tc.location {
				t.Errorf("Location %q, want %q", loc, tc.location)
			}
			csp := res.Header.Get("Content-Security-Policy")
			if tc.frameAncestors == "" {
				return
			}
			if !strings.HasSuffix(csp, "frame-ancestors "+tc.frameAncestors) {
				t.Errorf("CSP %q, want frame-ancestors %s", csp, tc.frameAncestors)
			}
			for _, want := range []string{"script-src 'self'", "default-src 'none'", "connect-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %s", csp, want)
				}
			}
			if strings.Count(csp, "script-src") != 1 {
				t.Errorf("CSP %q names script-src more than once", csp)
			}
			if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy %q", got)
			}
		})
	}
}

// TestModulesResolve checks every relative import of every module and every
// asset the page names against the embedded files, so a renamed file
// cannot ship a console that fails to load.
func TestModulesResolve(t *testing.T) {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		t.Fatal(err)
	}
	imports := regexp.MustCompile(`(?m)^import .* from '(\.[^']+)';`)
	pageRefs := regexp.MustCompile(`(?:src|href)="/ui/([^"]+)"`)
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	var modules int
	for _, m := range pageRefs.FindAllStringSubmatch(string(index), -1) {
		if _, err := fs.Stat(sub, m[1]); err != nil {
			t.Errorf("index.html names %s: %v", m[1], err)
		}
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		modules++
		src, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		for _, m := range imports.FindAllStringSubmatch(string(src), -1) {
			target := path.Join(path.Dir(p), m[1])
			if _, err := fs.Stat(sub, target); err != nil {
				t.Errorf("%s imports %s: %v", p, m[1], err)
			}
		}
		if strings.Contains(string(src), "innerHTML") {
			t.Errorf("%s uses innerHTML; build elements with h() so server text stays text", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if modules < 5 {
		t.Fatalf("found %d modules; the walk is broken", modules)
	}
}
