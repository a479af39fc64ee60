package httpapi

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// A created link's url is the public base (CONVOY_PUBLIC_URL, else the
// request's own scheme and host), the console's portal path and the token,
// escaped.
func TestPortalLinkURL(t *testing.T) {
	const token = "convoy_portal_tok/en+"
	for _, c := range []struct {
		name, public string
		want         func(h *harness) string
	}{
		{"from the request", "", func(h *harness) string { return h.url }},
		{"from CONVOY_PUBLIC_URL", "https://convoy.example.com/", func(*harness) string { return "https://convoy.example.com" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Options{PublicURL: c.public})
			res := h.do(t, "POST", "/api/v1/groups/grp-1/applications/app-1/portal_links", `{}`, nil)
			if res.status != 201 {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			var l struct {
				URL   string `json:"url"`
				Token string `json:"token"`
			}
			if err := json.Unmarshal(res.envelope(t).Data, &l); err != nil {
				t.Fatal(err)
			}
			want := c.want(h) + "/ui/portal?token=" + url.QueryEscape(token)
			if l.URL != want || l.Token != token {
				t.Fatalf("url %q token %q, want %q", l.URL, l.Token, want)
			}
			u, err := url.Parse(l.URL)
			if err != nil || u.Query().Get("token") != token {
				t.Fatalf("the url does not carry the token back: %v", err)
			}
		})
	}
	t.Run("an empty expires_in is refused", func(t *testing.T) {
		h := newHarness(t, Options{})
		res := h.do(t, "POST", "/api/v1/groups/grp-1/applications/app-1/portal_links", `{"expires_in":""}`, nil)
		if res.status != 400 || !strings.Contains(*res.envelope(t).Message, "expires_in") {
			t.Fatalf("%d %s, want 400 naming expires_in", res.status, res.body)
		}
	})
}
