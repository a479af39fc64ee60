package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Unix(1700000000, 0)

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignRotation(t *testing.T) {
	body := `{"a":1}`
	expired := now.Add(-time.Second)
	later := now.Add(time.Hour)
	tests := []struct {
		name    string
		in      Input
		header  string
		want    string
		wantErr error
	}{
		{
			name: "simple uses newest valid secret",
			in: Input{Format: FormatSimple, Hash: "SHA256", Header: "X-Sig",
				Secrets: []Secret{{Value: "new"}, {Value: "old", ExpiresAt: later}}},
			header: "X-Sig",
			want:   hmacHex("new", body),
		},
		{
			name: "simple skips an expired newest secret",
			in: Input{Format: FormatSimple, Hash: "SHA256", Header: "X-Sig",
				Secrets: []Secret{{Value: "gone", ExpiresAt: expired}, {Value: "old", ExpiresAt: later}}},
			header: "X-Sig",
			want:   hmacHex("old", body),
		},
		{
			name: "expiry exactly now counts as expired",
			in: Input{Format: FormatSimple, Hash: "SHA256", Header: "X-Sig",
				Secrets: []Secret{{Value: "edge", ExpiresAt: now}, {Value: "cur"}}},
			header: "X-Sig",
			want:   hmacHex("cur", body),
		},
		{
			name: "advanced lists valid secrets newest first",
			in: Input{Format: FormatAdvanced, Hash: "SHA256", Header: "X-Sig",
				Secrets: []Secret{{Value: "new"}, {Value: "gone", ExpiresAt: expired}, {Value: "old", ExpiresAt: later}}},
			header: "X-Sig",
			want:   "t=1700000000,v1=" + hmacHex("new", "1700000000,"+body) + ",v1=" + hmacHex("old", "1700000000,"+body),
		},
		{
			name: "all secrets expired",
			in: Input{Format: FormatAdvanced, Hash: "SHA256", Header: "X-Sig",
				Secrets: []Secret{{Value: "gone", ExpiresAt: expired}}},
			wantErr: ErrNoSecret,
		},
		{
			name:    "no secrets",
			in:      Input{Format: FormatSimple, Hash: "SHA256", Header: "X-Sig"},
			wantErr: ErrNoSecret,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Body = []byte(body)
			tt.in.Now = now
			h, err := Sign(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := h.Get(tt.header); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestSignHeaders(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want []string // header names present, nothing else
	}{
		{"simple without replay", Input{Format: FormatSimple, Hash: "SHA1", Header: "X-Convoy-Signature"}, []string{"X-Convoy-Signature"}},
		{"simple with replay", Input{Format: FormatSimple, Hash: "SHA1", Header: "X-Convoy-Signature", ReplayAttacks: true}, []string{"X-Convoy-Signature", "Convoy-Timestamp"}},
		{"advanced", Input{Format: FormatAdvanced, Hash: "SHA1", Header: "X-Convoy-Signature"}, []string{"X-Convoy-Signature"}},
		{"standard webhooks", Input{Format: FormatStandardWebhooks, DeliveryID: "d1"}, []string{"webhook-id", "webhook-timestamp", "webhook-signature"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Secrets = []Secret{{Value: "s"}}
			tt.in.Now = now
			h, err := Sign(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != len(tt.want) {
				t.Errorf("headers = %v, want only %v", h, tt.want)
			}
			for _, name := range tt.want {
				if h.Get(name) == "" {
					t.Errorf("missing %s in %v", name, h)
				}
			}
			if ts := h.Get("Convoy-Timestamp"); ts != "" && ts != "1700000000" {
				t.Errorf("Convoy-Timestamp = %q", ts)
			}
		})
	}
}

func TestSignStandardWebhooksSpecExample(t *testing.T) {
	// Published with the Standard Webhooks specification.
	h, err := Sign(Input{
		Format:     FormatStandardWebhooks,
		Secrets:    []Secret{{Value: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
		DeliveryID: "msg_p5jXN8AQM9LWM0D4loKWxJek",
		Body:       []byte(`{"test": 2432232314}`),
		Now:        time.Unix(1614265330, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("webhook-signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("webhook-signature = %q, want %q", got, want)
	}
	if got := h.Get("webhook-id"); got != "msg_p5jXN8AQM9LWM0D4loKWxJek" {
		t.Errorf("webhook-id = %q", got)
	}
	if got := h.Get("webhook-timestamp"); got != "1614265330" {
		t.Errorf("webhook-timestamp = %q", got)
	}
}

func TestSignErrors(t *testing.T) {
	const secret = "whsec_c2VjcmV0LXZhbHVl!!!" // not valid base64
	tests := []struct {
		name    string
		in      Input
		wantErr error
	}{
		{"unknown format", Input{Format: "fancy", Hash: "SHA256", Header: "X"}, ErrUnknownFormat},
		{"empty format", Input{Hash: "SHA256", Header: "X"}, ErrUnknownFormat},
		{"unknown hash simple", Input{Format: FormatSimple, Hash: "SHA-256", Header: "X"}, ErrUnknownHash},
		{"unknown hash advanced", Input{Format: FormatAdvanced, Hash: "sha256", Header: "X"}, ErrUnknownHash},
		{"empty hash", Input{Format: FormatSimple, Header: "X"}, ErrUnknownHash},
		{"bad whsec base64", Input{Format: FormatStandardWebhooks, DeliveryID: "d"}, ErrInvalidSecret},
		{"empty header name", Input{Format: FormatSimple, Hash: "SHA256"}, nil},
		{"empty delivery id", Input{Format: FormatStandardWebhooks}, nil},
		{"zero now", Input{Format: FormatSimple, Hash: "SHA256", Header: "X"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Secrets = []Secret{{Value: secret}}
			if tt.name != "zero now" {
				tt.in.Now = now
			}
			h, err := Sign(tt.in)
			if err == nil {
				t.Fatalf("Sign succeeded with %v", h)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "secret-value") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestSignEmptySecretRejected(t *testing.T) {
	_, err := Sign(Input{Format: FormatSimple, Hash: "SHA256", Header: "X", Secrets: []Secret{{Value: ""}}, Now: now})
	if !errors.Is(err, ErrInvalidSecret) {
		t.Fatalf("err = %v, want ErrInvalidSecret", err)
	}
}
