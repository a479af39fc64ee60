package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// switchReceiver answers every request with the status it holds.
type switchReceiver struct {
	*httptest.Server
	code atomic.Int32
	hits atomic.Int32
}

func newSwitchReceiver(t *testing.T) *switchReceiver {
	r := &switchReceiver{}
	r.code.Store(200)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(r.code.Load()))
		_, _ = fmt.Fprintf(w, `{"answered":%d}`, r.code.Load())
	}))
	t.Cleanup(r.Close)
	return r
}

// browser starts one headless chromium for the test; each case opens its
// own tab, so each has its own sessionStorage.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath(chromiumPath)
	if err != nil {
		t.Fatalf("the console tests need chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// tab opens a new tab of the browser for one case.
func tab(t *testing.T, browser context.Context) context.Context {
	ctx, cancel := chromedp.NewContext(browser)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

// browserTab drives one tab, failing the test on the first error.
type browserTab struct {
	t   *testing.T
	ctx context.Context
}

func (p browserTab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// until waits for a JavaScript condition to hold.
func (p browserTab) until(what, js string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		body, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`location.href + "\n" + document.getElementById("main").innerText`))
		p.t.Fatalf("waiting for %s: %v\npage: %s", what, err, body)
	}
}

// evalJS evaluates js in the tab and decodes its value.
func evalJS[T any](p browserTab, js string, opts ...chromedp.EvaluateOption) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (p browserTab) heading(text string) {
	p.t.Helper()
	p.until("heading "+text, fmt.Sprintf(`document.querySelector("main h1")?.textContent === %q`, text))
}

func (p browserTab) fill(form, name, value string) {
	p.t.Helper()
	sel := fmt.Sprintf(`form[aria-label=%q] [name=%q]`, form, name)
	p.run("find "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	evalJS[string](p, fmt.Sprintf(`document.querySelector(%q).value = ""`, sel))
	p.run("fill "+sel, chromedp.SendKeys(chromedp.CSS(sel), value))
}

func (p browserTab) submit(form string) {
	p.t.Helper()
	sel := fmt.Sprintf(`form[aria-label=%q] button[type=submit]`, form)
	p.run("submit "+form, chromedp.Click(chromedp.CSS(sel)))
}

func (p browserTab) hash() string {
	return evalJS[string](p, `location.hash`)
}

func (p browserTab) signIn(base string) {
	p.t.Helper()
	p.run("open the console", chromedp.Navigate(base+"/ui/"))
	p.heading("Sign in")
	p.fill("Sign in", "key", adminKey)
	p.submit("Sign in")
	p.heading("Groups")
}

// noErrors fails the test if the page met an error no screen caught.
func (p browserTab) noErrors() {
	p.t.Helper()
	if errs := evalJS[[]string](p, `window.consoleErrors || []`); len(errs) > 0 {
		p.t.Errorf("uncaught errors in the console: %q", errs)
	}
}

// screenshot saves the viewport as docs/console/name.png when
// CONVOY_SCREENSHOTS=1.
func (p browserTab) screenshot(name string) {
	p.t.Helper()
	if os.Getenv("CONVOY_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// noSideways reports whether the page is no wider than the viewport.
func (p browserTab) noSideways(where string) {
	p.t.Helper()
	w := evalJS[struct{ Scroll, Inner int }](p, `({Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth})`)
	if w.Scroll > w.Inner {
		p.t.Errorf("%s: page is %d px wide in a %d px viewport", where, w.Scroll, w.Inner)
	}
}

func TestConsole(t *testing.T) {
	s := startStack(t)
	b := browser(t)

	// The operator's path: every step through the console, the event sent
	// as a client would, the delivery watched arriving without a reload.
	t.Run("operator creates, watches and retries", func(t *testing.T) {
		t.Parallel()
		recv := newSwitchReceiver(t)
		p := browserTab{t, tab(t, b)}
		p.run("open sign-in", chromedp.Navigate(s.Gateway+"/ui/"))
		p.heading("Sign in")
		p.screenshot("signin")
		p.fill("Sign in", "key", adminKey)
		p.submit("Sign in")
		p.heading("Groups")

		p.fill("Create a group", "name", "console-shop")
		p.fill("Create a group", "retry_count", "1")
		p.submit("Create a group")
		p.heading("Group console-shop")
		p.screenshot("settings")
		groupID := strings.TrimPrefix(p.hash(), "#/groups/")
		// Keep the endpoint enabled when its delivery fails, so that the
		// failed delivery can be resent as it is.
		box := `form[aria-label="Group settings"] [name=disable_endpoint]`
		if evalJS[bool](p, fmt.Sprintf(`document.querySelector(%q).checked`, box)) {
			p.run("uncheck disable_endpoint", chromedp.Click(chromedp.CSS(box)))
		}
		p.submit("Group settings")
		p.until("the settings to save", `document.getElementById("toast").textContent === "Settings saved"`)
		var saved struct {
			Config struct {
				DisableEndpoint bool `json:"disable_endpoint"`
				Strategy        struct {
					RetryCount int `json:"retry_count"`
				} `json:"strategy"`
			} `json:"config"`
		}
		s.must(200, "GET", "/api/v1/groups/"+groupID, nil, &saved)
		if saved.Config.DisableEndpoint || saved.Config.Strategy.RetryCount != 1 {
			t.Fatalf("group config after the console's save: %+v, want disable_endpoint false and 1 attempt", saved.Config)
		}

		p.run("open applications", chromedp.Click(chromedp.CSS(`nav a[href$="/apps"]`)))
		p.heading("Applications")
		p.fill("Create an application", "name", "storefront")
		p.submit("Create an application")
		p.heading("Application storefront")
		appID := p.hash()[strings.LastIndex(p.hash(), "/")+1:]

		// The list's search is the server's name filter.
		p.run("back to applications", chromedp.Click(chromedp.CSS(`nav a[href$="/apps"]`)))
		p.heading("Applications")
		p.fill("Search applications", "q", "FRONT")
		p.submit("Search applications")
		p.until("the application found by part of its name", `[...document.querySelectorAll("tbody tr a")].map(a => a.textContent).join() === "storefront"`)
		p.fill("Search applications", "q", "nothing-like-it")
		p.submit("Search applications")
		p.until("no application found", `document.querySelector("main .empty")?.textContent.startsWith("No application name contains")`)
		p.run("open the application", chromedp.Navigate(s.Gateway+"/ui/#/groups/"+groupID+"/apps/"+appID))
		p.heading("Application storefront")

		p.run("new endpoint", chromedp.Click(chromedp.CSS(`a[href$="/endpoints/new"]`)))
		p.heading("New endpoint")
		p.fill("New endpoint", "url", recv.URL+"/hook")
		p.fill("New endpoint", "events", "order.*")
		p.run("add a custom header", chromedp.Click(chromedp.CSS(`form[aria-label="New endpoint"] .custom-headers > button`)))
		p.fill("New endpoint", "header_name", "X-Api-Key")
		p.fill("New endpoint", "header_value", "console-key")
		p.submit("New endpoint")
		p.heading("Endpoint")
		p.until("the custom header in the settings", `document.querySelector('form[aria-label="Endpoint settings"] [name=header_name]')?.value === "X-Api-Key" &&
			document.querySelector('form[aria-label="Endpoint settings"] [name=header_value]')?.value === "console-key"`)
		p.screenshot("endpoint")

		// The test button, where the server has its route.
		p.submit("Send a test event")
		p.until("the test event's answer", `document.querySelector("[data-test-delivery]") !== null ||
			/cannot send test events/.test(document.querySelector('form[aria-label="Send a test event"] .error')?.textContent || "")`)
		tested := evalJS[string](p, `document.querySelector("[data-test-delivery]")?.dataset.testDelivery || ""`)
		if tested != "" {
			waitDelivery(t, s, groupID, tested, "Success")
		}

		p.run("open deliveries", chromedp.Navigate(s.Gateway+"/ui/#/groups/"+groupID+"/deliveries"))
		p.heading("Deliveries")
		evalJS[bool](p, `window.sameDocument = true`)
		sendEvent := func(kind string) string {
			var ev resource
			s.must(201, "POST", "/api/v1/groups/"+groupID+"/events", map[string]any{
				"app_id": appID, "event_type": "order." + kind, "data": map[string]any{"kind": kind},
			}, &ev)
			var ds page[delivery]
			eventually(t, 20*time.Second, "the delivery to be stored", func() bool {
				s.must(200, "GET", "/api/v1/groups/"+groupID+"/eventdeliveries?event_id="+ev.UID, nil, &ds)
				return len(ds.Content) == 1
			})
			return ds.Content[0].UID
		}
		row := func(id, status string) string {
			return fmt.Sprintf(`document.querySelector('tr[data-delivery=%q]')?.dataset.status === %q`, id, status)
		}
		ok := sendEvent("paid")
		p.until("the delivery to show as Success without a reload", row(ok, "Success")+` && window.sameDocument === true`)
		p.screenshot("deliveries")

		p.run("open the delivery", chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-delivery=%q] a`, ok))))
		p.heading("Delivery")
		p.until("its attempt", `document.querySelector(".timeline li[data-attempt]")?.textContent.includes("HTTP 200")`)
		p.run("open the request headers", chromedp.Click(chromedp.CSS(`.timeline li[data-attempt] details summary`)))
		headers := evalJS[string](p, `document.querySelector(".timeline li[data-attempt] details").innerText`)
		var attempts []struct {
			Header map[string]string `json:"request_http_header"`
		}
		s.must(200, "GET", "/api/v1/groups/"+groupID+"/eventdeliveries/"+ok+"/deliveryattempts", nil, &attempts)
		signature := ""
		for name, v := range attempts[0].Header {
			if strings.Contains(strings.ToLower(name), "signature") {
				signature = v
			}
		}
		// The stored attempt may hold the signature already redacted; the
		// console redacts it either way.
		if signature == "" || !strings.Contains(headers, "Signature\t[redacted]") || signature != "[redacted]" && strings.Contains(headers, signature) {
			t.Errorf("the request headers should show the signature %q redacted:\n%s", signature, headers)
		}
		if !strings.Contains(headers, "X-Api-Key\tconsole-key") {
			t.Errorf("the attempt should carry the endpoint's custom header X-Api-Key:\n%s", headers)
		}
		evalJS[bool](p, `document.querySelector(".timeline").scrollIntoView(), true`)
		p.screenshot("attempt")

		// Force resend from the detail: a second attempt joins the timeline.
		p.run("force resend", chromedp.Click(chromedp.CSS(`main .actions button`)))
		p.until("the second attempt", `document.querySelectorAll(".timeline li[data-attempt]").length === 2`)

		recv.code.Store(500)
		p.run("back to deliveries", chromedp.Navigate(s.Gateway+"/ui/#/groups/"+groupID+"/deliveries?status=Failure"))
		p.heading("Deliveries")
		failed := sendEvent("failed")
		p.until("the delivery to show as Failure", row(failed, "Failure"))
		p.until("the retryable count", `/^1 failed or discarded delivery matches/.test(document.querySelector(".count")?.textContent)`)
		p.until("the count per status", `document.querySelector('[data-status-count=Failure] .n')?.textContent === "1" &&
			document.querySelector('[data-status-count=Failure]').getAttribute("aria-current") === "true" &&
			Number(document.querySelector('[data-status-count=Success] .n')?.textContent) >= 1`)
		recv.code.Store(200)
		p.run("resend it", chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[aria-label="Resend delivery %s"]`, failed))))
		// The status filter is Failure, so the retried delivery leaves the
		// list; its stored status is the proof.
		eventually(t, 20*time.Second, "the resent delivery to succeed", func() bool {
			var d delivery
			s.must(200, "GET", "/api/v1/groups/"+groupID+"/eventdeliveries/"+failed, nil, &d)
			return d.Status == "Success"
		})
		var tries []attempt
		s.must(200, "GET", "/api/v1/groups/"+groupID+"/eventdeliveries/"+failed+"/deliveryattempts", nil, &tries)
		if len(tries) != 2 || tries[0].HTTPStatus != 500 || tries[1].HTTPStatus != 200 {
			t.Errorf("attempts of the resent delivery: %+v, want a 500 then a 200", tries)
		}
		p.until("the list to drop it", fmt.Sprintf(`document.querySelector('tr[data-delivery=%q]') === null`, failed))

		// Retry all failed retries what the filter selects, and only that.
		recv.code.Store(500)
		more := []string{sendEvent("failed.again"), sendEvent("failed.more")}
		for _, id := range more {
			p.until("the new failure listed", row(id, "Failure"))
		}
		p.until("the retryable count of two", `/^2 failed or discarded deliveries match/.test(document.querySelector(".count")?.textContent)`)
		recv.code.Store(200)
		evalJS[bool](p, `(window.confirm = () => true, true)`)
		p.run("retry all failed", chromedp.Click(chromedp.CSS(`main .actions button:last-child`)))
		for _, id := range more {
			waitDelivery(t, s, groupID, id, "Success")
		}
		p.until("the list to empty", `document.querySelector('tr[data-delivery]') === null`)
		// A status's count is a link to the list narrowed to it.
		p.run("open the Success count", chromedp.Click(chromedp.CSS(`[data-status-count=Success]`)))
		p.until("the Success list", `location.hash.endsWith("?status=Success") && document.querySelectorAll('tr[data-delivery]').length >= 3 &&
			[...document.querySelectorAll('tr[data-delivery]')].every((r) => r.dataset.status === "Success") &&
			document.querySelector('[data-status-count=Failure] .n')?.textContent === "0"`)
		p.noErrors()
	})

	// Keyboard only: focus starts in the key field, Tab reaches the
	// submit button, Enter signs in.
	t.Run("keyboard sign-in", func(t *testing.T) {
		t.Parallel()
		p := browserTab{t, tab(t, b)}
		p.run("open", chromedp.Navigate(s.Gateway+"/ui/"))
		p.heading("Sign in")
		p.until("focus in the key field", `document.activeElement?.name === "key"`)
		p.run("type the key", chromedp.KeyEvent(adminKey))
		for range 2 {
			p.run("tab", chromedp.KeyEvent(kb.Tab))
		}
		focused := evalJS[struct{ Tag, Text, Outline string }](p, `(() => { const e = document.activeElement; return {Tag: e.tagName, Text: e.textContent, Outline: getComputedStyle(e).outlineStyle}; })()`)
		if focused.Tag != "BUTTON" || focused.Text != "Sign in" {
			t.Fatalf("after two tabs focus is on %s %q, want the Sign in button", focused.Tag, focused.Text)
		}
		if focused.Outline == "none" {
			t.Errorf("the focused button shows no outline")
		}
		p.run("enter", chromedp.KeyEvent(kb.Enter))
		p.heading("Groups")
		p.noErrors()
	})

	// A key made in the console signs in as its group, sees no other
	// group, and stops working once revoked there.
	t.Run("group key from the API keys screen", func(t *testing.T) {
		t.Parallel()
		var group resource
		s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "keyed"}, &group)
		p := browserTab{t, tab(t, b)}
		p.signIn(s.Gateway)
		p.run("open keys", chromedp.Navigate(s.Gateway+"/ui/#/groups/"+group.UID+"/keys"))
		p.heading("API keys")
		p.fill("Create a key", "name", "ci")
		p.submit("Create a key")
		p.until("the new key shown once", `document.querySelector(".once output.secret")?.textContent.length > 10`)
		key := evalJS[string](p, `document.querySelector(".once output.secret").textContent`)

		p.run("sign out", chromedp.Click(chromedp.CSS(`#signout`)))
		p.heading("Sign in")
		// The key alone finds its group.
		p.fill("Sign in", "key", key)
		p.submit("Sign in")
		p.heading("Applications")
		if evalJS[bool](p, `document.querySelector('nav a[href="#/groups"]') !== null`) {
			t.Error("a group key is offered the list of all groups")
		}
		if evalJS[string](p, `document.getElementById("who").textContent`) != "Group key · "+group.UID {
			t.Error("the header does not say which group the key is for")
		}
		if !strings.Contains(p.hash(), group.UID) {
			t.Errorf("signed in at %s, want the key's group %s", p.hash(), group.UID)
		}
		// The group ID may still be given; it is checked against the key.
		p.run("sign out", chromedp.Click(chromedp.CSS(`#signout`)))
		p.heading("Sign in")
		p.fill("Sign in", "key", key)
		p.fill("Sign in", "group", "not-its-group")
		p.submit("Sign in")
		p.until("another group refused", `document.querySelector("form .error")?.textContent !== ""`)
		p.fill("Sign in", "group", group.UID)
		p.submit("Sign in")
		p.heading("Applications")

		p.run("sign out", chromedp.Click(chromedp.CSS(`#signout`)))
		p.heading("Sign in")
		p.fill("Sign in", "key", adminKey)
		p.submit("Sign in")
		p.heading("Groups")
		p.run("open keys", chromedp.Navigate(s.Gateway+"/ui/#/groups/"+group.UID+"/keys"))
		p.heading("API keys")
		p.until("the key listed", `document.querySelector('button[aria-label="Revoke key ci"]') !== null`)
		evalJS[bool](p, `(window.confirm = () => true, true)`)
		p.run("revoke", chromedp.Click(chromedp.CSS(`button[aria-label="Revoke key ci"]`)))
		p.until("the key gone", `document.querySelector('button[aria-label="Revoke key ci"]') === null`)
		// Keys are cached for a couple of seconds.
		eventually(t, 5*time.Second, "the revoked key to be refused", func() bool {
			code, _ := s.call("GET", "/api/v1/groups/"+group.UID, key, nil, nil)
			return code == http.StatusUnauthorized
		})
		p.noErrors()
	})

	// A phone: every main screen fits 390 px without sideways scrolling.
	t.Run("phone viewport", func(t *testing.T) {
		t.Parallel()
		recv := newSwitchReceiver(t)
		group, app, endpoint := setup(s, nil, recv.URL)
		var ev resource
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]any{"n": 1}}, &ev)
		d := storedDeliveries(t, s, group.UID, ev.UID, 1)[0]
		p := browserTab{t, tab(t, b)}
		p.run("phone size", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		p.signIn(s.Gateway)
		p.noSideways("groups")
		for _, sc := range []struct{ hash, heading, ready string }{
			{"#/groups/" + group.UID + "/apps", "Applications", "table"},
			{"#/groups/" + group.UID + "/apps/" + app.UID, "Application shop", "table"},
			{"#/groups/" + group.UID + "/apps/" + app.UID + "/endpoints/" + endpoint.UID, "Endpoint", "output.secret"},
			{"#/groups/" + group.UID + "/deliveries", "Deliveries", "tr[data-delivery]"},
			{"#/groups/" + group.UID + "/deliveries/" + d.UID, "Delivery", ".timeline li[data-attempt]"},
			{"#/groups/" + group.UID + "/events/" + ev.UID, "Event invoice.paid", "pre.json"},
			{"#/groups/" + group.UID, "Group e2e", "form"},
		} {
			p.run("open "+sc.hash, chromedp.Navigate(s.Gateway+"/ui/"+sc.hash))
			p.heading(sc.heading)
			p.until(sc.ready, fmt.Sprintf(`document.querySelector(%q) !== null`, sc.ready))
			p.noSideways(sc.hash)
			if sc.heading == "Deliveries" {
				p.screenshot("phone-deliveries")
			}
			p.noErrors()
		}
	})

	// A portal link shows one application and nothing of another.
	t.Run("portal", func(t *testing.T) {
		t.Parallel()
		if code, _ := s.call("GET", "/api/v1/portal/session", "", nil, nil); code == http.StatusNotFound {
			t.Skip("this server has no portal routes")
		}
		recv := newSwitchReceiver(t)
		group, app, _ := setup(s, nil, recv.URL)
		var other resource
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications", map[string]any{"name": "other"}, &other)
		for _, a := range []string{app.UID, other.UID} {
			s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{"app_id": a, "event_type": "invoice.paid", "data": map[string]any{"app": a}}, nil)
		}
		// The operator makes the link on the application's screen.
		op := browserTab{t, tab(t, b)}
		op.signIn(s.Gateway)
		op.run("open the application", chromedp.Navigate(s.Gateway+"/ui/#/groups/"+group.UID+"/apps/"+app.UID))
		op.heading("Application shop")
		op.until("the portal links panel", `document.querySelector('form[aria-label="Create a portal link"]') !== null`)
		evalJS[bool](op, `(() => { document.querySelector('form[aria-label="Create a portal link"] [name=can_manage_endpoints]').checked = false; return true; })()`)
		op.fill("Create a portal link", "frame_ancestors", "https://shop.example.com")
		op.submit("Create a portal link")
		op.until("the link shown once", `document.querySelector("output[data-portal-url]") !== null`)
		linkURL := evalJS[string](op, `document.querySelector("output[data-portal-url]").dataset.portalUrl`)
		op.until("the link listed", `document.querySelector('button[aria-label^="Revoke portal link"]') !== null`)
		if listed := evalJS[string](op, `document.querySelector('section[aria-labelledby] table tbody tr td:nth-child(3)')?.textContent || ""`); listed == "" {
			t.Error("the portal link list shows no embedding sites")
		}
		u, err := url.Parse(linkURL)
		if err != nil {
			t.Fatal(err)
		}
		token := u.Query().Get("token")
		p := browserTab{t, tab(t, b)}
		p.run("open the portal link", chromedp.Navigate(s.Gateway+u.RequestURI()))
		p.heading("shop: endpoints")
		href := evalJS[string](p, `location.href`)
		if token == "" || strings.Contains(href, token) {
			t.Errorf("the token stayed in the address bar: %s", href)
		}
		p.screenshot("portal")
		canCreate := evalJS[bool](p, `document.querySelector('a[href$="/endpoints/new"]') !== null`)
		if canCreate {
			t.Error("a portal link without can_manage_endpoints offers New endpoint")
		}

		p.run("open events", chromedp.Navigate(s.Gateway+"/ui/portal#/groups/"+group.UID+"/events"))
		p.heading("Events")
		p.until("the application's event", `document.querySelectorAll("tbody tr").length === 1`)
		apps := evalJS[[]string](p, `[...document.querySelectorAll("tbody tr td:nth-child(3)")].map(td => td.textContent)`)
		if len(apps) != 1 || apps[0] != app.UID {
			t.Errorf("portal events list shows applications %v, want only %s", apps, app.UID)
		}

		p.run("open the other application", chromedp.Navigate(s.Gateway+"/ui/portal#/groups/"+group.UID+"/apps/"+other.UID))
		p.until("a refusal", `document.querySelector("main .error[role=alert]")?.textContent.includes("HTTP 40")`)
		// What the console would send to change it is refused too.
		status := evalJS[int](p, fmt.Sprintf(`fetch("/api/v1/groups/%s/applications/%s", {method: "PUT",
			headers: {Authorization: "Bearer " + sessionStorage.getItem("convoy.key"), "Content-Type": "application/json"},
			body: JSON.stringify({name: "taken"})}).then(r => r.status)`, group.UID, other.UID), chromedp.EvalAwaitPromise)
		if status != http.StatusForbidden && status != http.StatusNotFound {
			t.Errorf("renaming another application with the portal token answered %d, want 403 or 404", status)
		}
		var named struct {
			Name string `json:"name"`
		}
		s.must(200, "GET", "/api/v1/groups/"+group.UID+"/applications/"+other.UID, nil, &named)
		if named.Name != "other" {
			t.Errorf("the other application was renamed to %q", named.Name)
		}
		p.noErrors()

		// Revoked on the operator's screen, the link opens no more.
		evalJS[bool](op, `(window.confirm = () => true, true)`)
		op.run("revoke the link", chromedp.Click(chromedp.CSS(`button[aria-label^="Revoke portal link"]`)))
		op.until("the link gone", `document.querySelector('button[aria-label^="Revoke portal link"]') === null`)
		op.noErrors()
		eventually(t, 5*time.Second, "the revoked token to be refused", func() bool {
			code, _ := s.call("GET", "/api/v1/portal/session", token, nil, nil)
			return code == http.StatusUnauthorized || code == http.StatusForbidden
		})
		again := browserTab{t, tab(t, b)}
		again.run("open the revoked link", chromedp.Navigate(s.Gateway+u.RequestURI()))
		again.until("the refusal", `/expired or was revoked/.test(document.querySelector("main .error")?.textContent || "")`)
	})
}
