package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	testSecret = "receiver-test-secret-9f3b"
	testBody   = `{"event":"ping"}`
)

var signedAt = time.Unix(1700000000, 0)

// hexMAC is the test's own one-line HMAC, kept apart from the package code.
func hexMAC(h func() hash.Hash, key, msg string) string {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func b64MAC(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestVerify(t *testing.T) {
	ts := "1700000000"
	simpleReplay := hexMAC(sha256.New, testSecret, ts+","+testBody)
	simplePlain := hexMAC(sha256.New, testSecret, testBody)
	adv := hexMAC(sha256.New, testSecret, ts+","+testBody)
	stdKey := []byte("0123456789abcdef0123456789abcdef")
	stdSecret := "whsec_" + base64.StdEncoding.EncodeToString(stdKey)
	std := "v1," + b64MAC(stdKey, "msg_1."+ts+"."+testBody)

	simple := Options{Format: FormatSimple, ReplayAttacks: true}
	advanced := Options{Format: FormatAdvanced}
	standard := Options{Format: FormatStandardWebhooks}

	tests := []struct {
		name    string
		opts    Options
		secrets []string
		header  http.Header
		want    error
	}{
		{"simple defaults to SHA256 and X-Convoy-Signature", simple, []string{testSecret},
			headers("X-Convoy-Signature", simpleReplay, "Convoy-Timestamp", ts), nil},
		{"simple accepts uppercase hex", simple, []string{testSecret},
			headers("X-Convoy-Signature", strings.ToUpper(simpleReplay), "Convoy-Timestamp", ts), nil},
		{"simple header name is case-insensitive", simple, []string{testSecret},
			headers("x-convoy-signature", simpleReplay, "convoy-timestamp", ts), nil},
		{"simple custom header and hash", Options{Format: FormatSimple, Hash: "SHA512", Header: "X-Acme-Sig"}, []string{testSecret},
			headers("X-Acme-Sig", hexMAC(sha512.New, testSecret, testBody)), nil},
		{"simple without replay ignores the timestamp", Options{Format: FormatSimple}, []string{testSecret},
			headers("X-Convoy-Signature", simplePlain, "Convoy-Timestamp", "1"), nil},
		{"simple replay needs the timestamp", simple, []string{testSecret},
			headers("X-Convoy-Signature", simpleReplay), ErrNoTimestamp},
		{"simple replay signature without timestamp does not verify unsigned", Options{Format: FormatSimple}, []string{testSecret},
			headers("X-Convoy-Signature", simpleReplay, "Convoy-Timestamp", ts), ErrMismatch},
		{"simple moved timestamp", simple, []string{testSecret},
			headers("X-Convoy-Signature", simpleReplay, "Convoy-Timestamp", "1700000001"), ErrMismatch},
		{"simple timestamp with sign", simple, []string{testSecret},
			headers("X-Convoy-Signature", simpleReplay, "Convoy-Timestamp", "+1700000000"), ErrMalformed},
		{"simple non-hex signature", simple, []string{testSecret},
			headers("X-Convoy-Signature", "zz", "Convoy-Timestamp", ts), ErrMismatch},
		{"simple wrong hash", Options{Format: FormatSimple, Hash: "SHA1", ReplayAttacks: true}, []string{testSecret},
			headers("X-Convoy-Signature", simpleReplay, "Convoy-Timestamp", ts), ErrMismatch},

		{"advanced", advanced, []string{testSecret},
			headers("X-Convoy-Signature", "t="+ts+",v1="+adv), nil},
		{"advanced tolerates spaces and unknown versions", advanced, []string{testSecret},
			headers("X-Convoy-Signature", "t="+ts+", v0=abcd, v1="+adv), nil},
		{"advanced matches a later v1", advanced, []string{testSecret},
			headers("X-Convoy-Signature", "t="+ts+",v1=00ff,v1="+adv), nil},
		{"advanced without t", advanced, []string{testSecret},
			headers("X-Convoy-Signature", "v1="+adv), ErrNoTimestamp},
		{"advanced with two t", advanced, []string{testSecret},
			headers("X-Convoy-Signature", "t="+ts+",t="+ts+",v1="+adv), ErrMalformed},
		{"advanced without v1", advanced, []string{testSecret},
			headers("X-Convoy-Signature", "t="+ts), ErrNoSignature},
		{"advanced element without =", advanced, []string{testSecret},
			headers("X-Convoy-Signature", "t="+ts+","+adv), ErrMalformed},
		{"advanced bad timestamp", advanced, []string{testSecret},
			headers("X-Convoy-Signature", "t=soon,v1="+adv), ErrMalformed},

		{"standard", standard, []string{stdSecret},
			headers("webhook-id", "msg_1", "webhook-timestamp", ts, "webhook-signature", std), nil},
		{"standard skips other versions", standard, []string{stdSecret},
			headers("webhook-id", "msg_1", "webhook-timestamp", ts, "webhook-signature", "v1a,AAAA v2,BBBB "+std), nil},
		{"standard raw secret", standard, []string{"raw-secret"},
			headers("webhook-id", "msg_1", "webhook-timestamp", ts, "webhook-signature", "v1,"+b64MAC([]byte("raw-secret"), "msg_1."+ts+"."+testBody)), nil},
		{"standard ignores Hash", Options{Format: FormatStandardWebhooks, Hash: "MD5"}, []string{stdSecret},
			headers("webhook-id", "msg_1", "webhook-timestamp", ts, "webhook-signature", std), nil},
		{"standard changed id", standard, []string{stdSecret},
			headers("webhook-id", "msg_2", "webhook-timestamp", ts, "webhook-signature", std), ErrMismatch},
		{"standard missing id", standard, []string{stdSecret},
			headers("webhook-timestamp", ts, "webhook-signature", std), ErrMalformed},
		{"standard missing timestamp", standard, []string{stdSecret},
			headers("webhook-id", "msg_1", "webhook-signature", std), ErrNoTimestamp},
		{"standard only unknown versions", standard, []string{stdSecret},
			headers("webhook-id", "msg_1", "webhook-timestamp", ts, "webhook-signature", "v1a,AAAA"), ErrNoSignature},
		{"standard bad whsec secret", standard, []string{"whsec_not*base64"},
			headers("webhook-id", "msg_1", "webhook-timestamp", ts, "webhook-signature", std), ErrInvalidSecret},

		{"unknown format", Options{Format: "jwt"}, []string{testSecret}, headers(), ErrUnknownFormat},
		{"unknown hash", Options{Format: FormatSimple, Hash: "sha256"}, []string{testSecret},
			headers("X-Convoy-Signature", simplePlain), ErrUnknownHash},
		{"no secrets", simple, nil, headers("X-Convoy-Signature", simpleReplay, "Convoy-Timestamp", ts), ErrNoSecret},
		{"empty secret", simple, []string{""}, headers("X-Convoy-Signature", simpleReplay, "Convoy-Timestamp", ts), ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Now = func() time.Time { return signedAt }
			err := Verify(tt.opts, tt.secrets, tt.header, []byte(testBody))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret-") {
				t.Errorf("error mentions a secret: %v", err)
			}
		})
	}
}

func TestVerifyTolerance(t *testing.T) {
	ts := "1700000000"
	h := headers("X-Convoy-Signature", "t="+ts+",v1="+hexMAC(sha256.New, testSecret, ts+","+testBody))
	tests := []struct {
		name      string
		tolerance time.Duration
		now       time.Time
		want      error
	}{
		{"default accepts 5m old", 0, signedAt.Add(5 * time.Minute), nil},
		{"default rejects 5m1s old", 0, signedAt.Add(5*time.Minute + time.Second), ErrTimestampTooOld},
		{"default rejects 5m1s ahead", 0, signedAt.Add(-5*time.Minute - time.Second), ErrTimestampTooNew},
		{"negative means default", -time.Second, signedAt.Add(4 * time.Minute), nil},
		{"custom 30s rejects 31s old", 30 * time.Second, signedAt.Add(31 * time.Second), ErrTimestampTooOld},
		{"custom 1h accepts 59m old", time.Hour, signedAt.Add(59 * time.Minute), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Format: FormatAdvanced, Tolerance: tt.tolerance, Now: func() time.Time { return tt.now }}
			if err := Verify(opts, []string{testSecret}, h, []byte(testBody)); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyHugeTimestamp(t *testing.T) {
	// Far beyond what time.Duration can hold: must be rejected, not overflow
	// into acceptance.
	for _, ts := range []string{"9223372036854775807", "99999999999999999999"} {
		t.Run(ts, func(t *testing.T) {
			h := headers("X-Convoy-Signature", "t="+ts+",v1="+hexMAC(sha256.New, testSecret, ts+","+testBody))
			err := Verify(Options{Format: FormatAdvanced, Now: func() time.Time { return signedAt }}, []string{testSecret}, h, []byte(testBody))
			if !errors.Is(err, ErrTimestampTooNew) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify = %v, want a timestamp error", err)
			}
		})
	}
}
