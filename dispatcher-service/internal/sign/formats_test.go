package sign

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"convoy/core/signingkey"
	"convoy/core/verify"
)

// Several formats on one request, from one secret: each verifies on its
// own, with the receivers' package.
func TestSeveralFormats(t *testing.T) {
	private, public, err := signingkey.New()
	if err != nil {
		t.Fatal(err)
	}
	key, err := signingkey.Parse(private)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1700000000, 0)
	body := []byte(`{"a":1}`)
	for _, tc := range []struct {
		name    string
		formats []Format
		// wantSig is the webhook-signature's entries' versions, in order.
		wantSig []string
	}{
		{"advanced and standard-webhooks", []Format{FormatAdvanced, FormatStandardWebhooks}, []string{"v1"}},
		{"standard-webhooks and asymmetric", []Format{FormatStandardWebhooks, FormatStandardWebhooksAsymmetric}, []string{"v1", "v1a"}},
		{"asymmetric alone", []Format{FormatStandardWebhooksAsymmetric}, []string{"v1a"}},
		{"all but simple", []Format{FormatAdvanced, FormatStandardWebhooks, FormatStandardWebhooksAsymmetric}, []string{"v1", "v1a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Sign(Input{
				Formats: tc.formats, SigningKey: key, Hash: "SHA256", Header: "X-Convoy-Signature",
				Secrets: []Secret{{Value: secret}}, DeliveryID: "d1", Body: body, Now: now,
			})
			if err != nil {
				t.Fatal(err)
			}
			var versions []string
			for entry := range strings.FieldsSeq(h.Get(HeaderWebhookSignature)) {
				v, _, _ := strings.Cut(entry, ",")
				versions = append(versions, v)
			}
			if strings.Join(versions, " ") != strings.Join(tc.wantSig, " ") {
				t.Fatalf("webhook-signature %q, want versions %v", h.Get(HeaderWebhookSignature), tc.wantSig)
			}
			for _, f := range tc.formats {
				keys := []string{secret}
				if f == FormatStandardWebhooksAsymmetric {
					keys = []string{public}
				}
				opts := verify.Options{Format: string(f), Hash: "SHA256", Now: func() time.Time { return now }}
				if err := verify.Verify(opts, keys, h, body); err != nil {
					t.Errorf("format %s does not verify: %v", f, err)
				}
			}
		})
	}
}

// The v1a signature checked without the verify package: ed25519 over
// "<id>.<timestamp>.<body>".
func TestAsymmetricWire(t *testing.T) {
	private, public, _ := signingkey.New()
	key, _ := signingkey.Parse(private)
	now := time.Unix(1700000000, 0)
	h, err := Sign(Input{Format: FormatStandardWebhooksAsymmetric, SigningKey: key, DeliveryID: "msg_1", Body: []byte("{}"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	sig, ok := strings.CutPrefix(h.Get(HeaderWebhookSignature), "v1a,")
	raw, err := base64.StdEncoding.DecodeString(sig)
	pub, err2 := base64.StdEncoding.DecodeString(strings.TrimPrefix(public, "whpk_"))
	if !ok || err != nil || err2 != nil || !strings.HasPrefix(public, "whpk_") {
		t.Fatalf("header %q, public key %q", h.Get(HeaderWebhookSignature), public)
	}
	if !ed25519.Verify(pub, []byte("msg_1.1700000000.{}"), raw) {
		t.Fatal("signature does not verify")
	}
	if h.Get(HeaderWebhookID) != "msg_1" || h.Get(HeaderWebhookTimestamp) != "1700000000" {
		t.Fatalf("headers %v", h)
	}
	// Without a key the format fails rather than sending nothing.
	if _, err := Sign(Input{Format: FormatStandardWebhooksAsymmetric, DeliveryID: "msg_1", Now: now}); err == nil {
		t.Fatal("signed without a key")
	}
	// A failing format among several names itself.
	_, err = Sign(Input{Formats: []Format{FormatAdvanced, "bogus"}, Hash: "SHA256", Header: "X", Secrets: []Secret{{Value: "s"}}, Now: now})
	if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), "format bogus") {
		t.Fatalf("err = %v", err)
	}
}
