package sign

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"convoy/core/hmacs"
	"convoy/core/signingkey"
)

// The vectors live next to the receiver-side verifier so that it, this signer
// and an independent Python check all read the same file.
var vectorsPath = filepath.Join("..", "..", "..", "core", "verify", "testdata", "vectors.json")

var update = flag.Bool("update", false, "regenerate "+vectorsPath+" from this package's signer")

// vector is one case of vectors.json. Its JSON shape is shared with the
// verifier's and the Python checker's readers, each of which declares its own.
type vector struct {
	Name          string   `json:"name"`
	Format        Format   `json:"format"`
	Hash          string   `json:"hash"`
	Header        string   `json:"header"`
	ReplayAttacks bool     `json:"replay_attacks"`
	Secrets       []string `json:"secrets"`
	// SigningKey is the asymmetric format's private key (whsk_); its
	// Secrets are then the public keys receivers verify with.
	SigningKey      string            `json:"signing_key,omitempty"`
	DeliveryID      string            `json:"delivery_id"`
	Timestamp       int64             `json:"timestamp"`
	Body            string            `json:"body"`
	ExpectedHeaders map[string]string `json:"expected_headers"`
}

func (v vector) input() Input {
	secrets := make([]Secret, len(v.Secrets))
	for i, s := range v.Secrets {
		secrets[i] = Secret{Value: s}
	}
	var key ed25519.PrivateKey
	if v.SigningKey != "" {
		key, _ = signingkey.Parse(v.SigningKey)
	}
	return Input{
		SigningKey:    key,
		Format:        v.Format,
		Hash:          v.Hash,
		Header:        v.Header,
		ReplayAttacks: v.ReplayAttacks,
		Secrets:       secrets,
		DeliveryID:    v.DeliveryID,
		Body:          []byte(v.Body),
		Now:           time.Unix(v.Timestamp, 0),
	}
}

// vectorInputs are the cases written by -update; the expected headers are
// filled in by Sign and then checked independently by check_vectors.py.
func vectorInputs() []vector {
	const (
		header = "X-Convoy-Signature"
		body   = `{"event_type":"invoice.paid","data":{"id":"inv_01","amount":4200,"currency":"EUR","note":"caf\u00e9 ✓"}}`
	)
	whsec := func(raw string) string { return "whsec_" + base64.StdEncoding.EncodeToString([]byte(raw)) }
	// Fixed seeds: ed25519 signatures are deterministic, so the vectors are.
	keyPair := func(seed string) (private, public string) {
		k := ed25519.NewKeyFromSeed([]byte(seed))
		return "whsk_" + base64.StdEncoding.EncodeToString(k),
			"whpk_" + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
	}
	priv1, pub1 := keyPair("convoy v1a test vector seed no 1")
	priv2, pub2 := keyPair("convoy v1a test vector seed no 2")

	var vs []vector
	for i, h := range hmacs.Names {
		vs = append(vs, vector{
			Name:          "simple " + h + " replay",
			Format:        FormatSimple,
			Hash:          h,
			Header:        header,
			ReplayAttacks: true,
			Secrets:       []string{"8cPOWzxGcmJ7ZOKVr5mh6jxBVCiBfHYqHpiXDNzAZR4"},
			Timestamp:     1700000000 + int64(i),
			Body:          body,
		})
	}
	vs = append(vs,
		vector{
			Name:      "simple SHA256 no replay",
			Format:    FormatSimple,
			Hash:      "SHA256",
			Header:    header,
			Secrets:   []string{"8cPOWzxGcmJ7ZOKVr5mh6jxBVCiBfHYqHpiXDNzAZR4"},
			Timestamp: 1700000100,
			Body:      body,
		},
		vector{
			Name:      "simple SHA512 no replay custom header empty body",
			Format:    FormatSimple,
			Hash:      "SHA512",
			Header:    "X-Acme-Signature",
			Secrets:   []string{"short"},
			Timestamp: 1700000101,
			Body:      "",
		},
		vector{
			Name:      "advanced SHA256 two secrets",
			Format:    FormatAdvanced,
			Hash:      "SHA256",
			Header:    header,
			Secrets:   []string{"new-secret-Kx1H0k7nS5y0h8wq", "old-secret-Pq2T9b3mV6c1z4ra"},
			Timestamp: 1700000200,
			Body:      body,
		},
		vector{
			Name:          "advanced SHA3_512 one secret",
			Format:        FormatAdvanced,
			Hash:          "SHA3_512",
			Header:        header,
			ReplayAttacks: true,
			Secrets:       []string{"new-secret-Kx1H0k7nS5y0h8wq"},
			Timestamp:     1700000201,
			Body:          body,
		},
		vector{
			// The example published with the Standard Webhooks specification,
			// so the vectors are anchored to an outside reference as well.
			Name:       "standard-webhooks spec example",
			Format:     FormatStandardWebhooks,
			Hash:       "SHA256",
			Secrets:    []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
			DeliveryID: "msg_p5jXN8AQM9LWM0D4loKWxJek",
			Timestamp:  1614265330,
			Body:       `{"test": 2432232314}`,
		},
		vector{
			Name:       "standard-webhooks one secret",
			Format:     FormatStandardWebhooks,
			Secrets:    []string{whsec("0123456789abcdef0123456789abcdef")},
			DeliveryID: "01HZX3K4Q5R6S7T8V9W0XYZABC",
			Timestamp:  1700000300,
			Body:       body,
		},
		vector{
			// Hash is ignored by this format; a non-SHA256 value proves it.
			Name:       "standard-webhooks two secrets",
			Format:     FormatStandardWebhooks,
			Hash:       "MD5",
			Secrets:    []string{whsec("new key with 32 bytes of entropy"), whsec("old key with 32 bytes of entropy")},
			DeliveryID: "01HZX3K4Q5R6S7T8V9W0XYZABD",
			Timestamp:  1700000301,
			Body:       body,
		},
		vector{
			Name:       "standard-webhooks-asymmetric v1a",
			Format:     FormatStandardWebhooksAsymmetric,
			Secrets:    []string{pub1},
			SigningKey: priv1,
			DeliveryID: "01HZX3K4Q5R6S7T8V9W0XYZABF",
			Timestamp:  1700000400,
			Body:       body,
		},
		vector{
			Name:       "standard-webhooks-asymmetric v1a empty body",
			Format:     FormatStandardWebhooksAsymmetric,
			Secrets:    []string{pub2},
			SigningKey: priv2,
			DeliveryID: "msg_p5jXN8AQM9LWM0D4loKWxJek",
			Timestamp:  1700000401,
			Body:       "",
		},
		vector{
			Name:       "standard-webhooks raw secret without prefix",
			Format:     FormatStandardWebhooks,
			Secrets:    []string{"raw-secret-used-as-bytes"},
			DeliveryID: "01HZX3K4Q5R6S7T8V9W0XYZABE",
			Timestamp:  1700000302,
			Body:       body,
		},
	)
	return vs
}

func TestVectors(t *testing.T) {
	if *update {
		vs := vectorInputs()
		for i := range vs {
			h, err := Sign(vs[i].input())
			if err != nil {
				t.Fatalf("%s: %v", vs[i].Name, err)
			}
			vs[i].ExpectedHeaders = wireHeaders(vs[i], h)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(vs); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d vectors to %s", len(vs), vectorsPath)
	}

	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			h, err := Sign(v.input())
			if err != nil {
				t.Fatal(err)
			}
			// Compare every header both ways so an extra or missing header fails
			// as surely as a wrong value.
			if len(h) != len(v.ExpectedHeaders) {
				t.Errorf("got %d headers %v, want %d", len(h), h, len(v.ExpectedHeaders))
			}
			for name, want := range v.ExpectedHeaders {
				if got := h.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// wireHeaders records headers under the names the formats document, not Go's
// canonical spelling, so the file reads like the specification.
func wireHeaders(v vector, h http.Header) map[string]string {
	names := []string{HeaderTimestamp, HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature}
	if v.Header != "" {
		names = append(names, v.Header)
	}
	out := map[string]string{}
	for key, vals := range h {
		name := key
		if i := slices.IndexFunc(names, func(n string) bool { return strings.EqualFold(n, key) }); i >= 0 {
			name = names[i]
		}
		out[name] = vals[0]
	}
	return out
}
