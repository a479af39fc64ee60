package deliver

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/dispatcher-service/internal/outbound"
	queuev1 "convoy/proto/convoy/queue/v1"
)

// fakePoster answers every post with res and keeps the last request.
type fakePoster struct {
	res    outbound.Result
	header http.Header
	body   []byte
}

func (p *fakePoster) Post(_ context.Context, _ string, header http.Header, body []byte, _ time.Duration) outbound.Result {
	p.header, p.body = header, body
	return p.res
}

func fixture() (*queuev1.DeliveryTask, *model.Endpoint, *model.Group) {
	t := &queuev1.DeliveryTask{
		DeliveryId: "d1", EventId: "e1", EventType: "invoice.paid", Data: []byte(`{"a":1}`), Attempt: 1, RetryLimit: 3,
		CustomHeaders: map[string]string{"X-Tenant": "t1", "X-Convoy-Delivery-ID": "spoofed", "User-Agent": "spoofed"},
	}
	ep := &model.Endpoint{UID: "ep1", URL: "http://10.0.0.1/", Secrets: []model.Secret{{Value: "s3cret"}}}
	g := &model.Group{Config: model.DefaultGroupConfig()}
	return t, ep, g
}

func TestRefusedAddressSaysRefused(t *testing.T) {
	p := &fakePoster{res: outbound.Result{Err: &outbound.BlockedError{IP: netip.MustParseAddr("10.0.0.1"), Reason: "a private address"}}}
	task, ep, g := fixture()
	out := New(p, "1.0.0").Attempt(t.Context(), task, ep, g)
	a := out.Attempt
	if a.Status || a.IPAddress != "" || a.Error != "refused to connect: destination 10.0.0.1 is a private address" {
		t.Fatalf("attempt %+v", a)
	}
}

func TestAttemptRecord(t *testing.T) {
	for _, tc := range []struct {
		name    string
		res     outbound.Result
		ok      bool
		wantErr string
	}{
		{"2xx", outbound.Result{StatusCode: 204, IP: "203.0.113.1"}, true, ""},
		{"3xx", outbound.Result{StatusCode: 302, Location: "https://elsewhere/"}, false, "redirect not followed (Location: https://elsewhere/)"},
		{"5xx", outbound.Result{StatusCode: 502}, false, "endpoint answered Bad Gateway"},
		{"transport", outbound.Result{Err: errors.New("connection reset by peer")}, false, "connection reset by peer"},
		{"body cut short", outbound.Result{StatusCode: 200, Err: errors.New("read response body: timeout")}, false, "read response body: timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &fakePoster{res: tc.res}
			task, ep, g := fixture()
			a := New(p, "1.0.0").Attempt(t.Context(), task, ep, g).Attempt
			if a.Status != tc.ok || a.Error != tc.wantErr || a.HTTPStatus != int32(tc.res.StatusCode) || a.IPAddress != tc.res.IP {
				t.Fatalf("attempt %+v", a)
			}
			// Our headers win over the event's custom headers.
			for k, want := range map[string]string{"X-Convoy-Delivery-Id": "d1", "User-Agent": "Convoy/1.0.0", "X-Tenant": "t1"} {
				if got := p.header.Values(k); len(got) != 1 || got[0] != want {
					t.Errorf("sent %s = %q, want %q", k, got, want)
				}
			}
			sig := p.header.Get("X-Convoy-Signature")
			if sig == "" || a.RequestHeader["X-Convoy-Signature"] != "[redacted]" {
				t.Errorf("signature sent %q, recorded %q", sig, a.RequestHeader["X-Convoy-Signature"])
			}
			for k, v := range a.RequestHeader {
				if strings.Contains(v, sig) {
					t.Errorf("recorded %s carries the signature", k)
				}
			}
		})
	}
}
