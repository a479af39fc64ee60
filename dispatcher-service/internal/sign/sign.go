// Package sign produces the signature headers of one delivery request, in the
// three wire formats an endpoint can choose: Convoy's simple and advanced
// formats and Standard Webhooks. The bytes signed are exactly the bytes sent, so
// the caller passes the final request body.
package sign

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"

	"convoy/core/hmacs"
)

// Format is the signature wire format configured on an endpoint.
type Format string

// The supported formats. Their string values are stored in endpoint
// configuration and must not change.
const (
	// FormatSimple sends one lowercase hex HMAC in the configured header, made
	// with the newest valid secret.
	FormatSimple Format = "simple"
	// FormatAdvanced sends "t=<unix>,v1=<hex>[,v1=<hex>...]" with one v1 per
	// valid secret, so receivers keep verifying while a secret is rotated.
	FormatAdvanced Format = "advanced"
	// FormatStandardWebhooks follows https://www.standardwebhooks.com.
	FormatStandardWebhooks Format = "standard-webhooks"
	// FormatStandardWebhooksAsymmetric is Standard Webhooks' asymmetric
	// signature: "v1a,<base64 ed25519 signature>" in webhook-signature,
	// verified with the endpoint's public key (whpk_...).
	FormatStandardWebhooksAsymmetric Format = "standard-webhooks-asymmetric"
)

// Header names fixed by the wire formats.
const (
	// HeaderTimestamp carries the signed timestamp in the simple format when
	// replay protection is on.
	HeaderTimestamp = "Convoy-Timestamp"
	// HeaderWebhookID, HeaderWebhookTimestamp and HeaderWebhookSignature are the
	// Standard Webhooks headers. They are spelled as the specification does;
	// http.Header canonicalises them and HTTP header names are case-insensitive.
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// standardSecretPrefix marks a Standard Webhooks secret whose key is the
// base64-decoded remainder.
const standardSecretPrefix = "whsec_"

// Errors callers may test for. None of them, and no error from this package,
// ever contains a secret value.
var (
	ErrUnknownFormat = errors.New("unknown signature format")
	ErrUnknownHash   = errors.New("unknown hash function")
	ErrNoSecret      = errors.New("no valid secret")
	ErrInvalidSecret = errors.New("invalid secret")
)

// Secret is one endpoint secret. During rotation an endpoint has several; the
// old ones carry the time they stop being used.
type Secret struct {
	Value string
	// ExpiresAt is zero for the current secret. A secret with ExpiresAt at or
	// before Input.Now is no longer used.
	ExpiresAt time.Time
}

// Input is everything needed to sign one delivery request.
type Input struct {
	// Formats are the formats to sign in, all on one request; empty means
	// Format alone. Signing in several lets receivers move from one to
	// another without a flag day.
	Formats []Format
	Format  Format
	// SigningKey signs the asymmetric format.
	SigningKey ed25519.PrivateKey
	// Hash is one of hmacs.Names. Standard Webhooks ignores it: the
	// specification fixes HMAC-SHA256.
	Hash string
	// Header is the signature header name for the simple and advanced formats,
	// for example "X-Convoy-Signature".
	Header string
	// ReplayAttacks turns on the signed timestamp in the simple format. The
	// other formats are always timestamped.
	ReplayAttacks bool
	// Secrets are ordered newest first.
	Secrets []Secret
	// DeliveryID is sent as webhook-id in the Standard Webhooks format; it is
	// the stable id receivers de-duplicate on.
	DeliveryID string
	Body       []byte
	Now        time.Time
}

// Sign returns the headers to add to the delivery request, for every
// format asked for. The two Standard Webhooks formats share their headers:
// their signatures go space-separated into one webhook-signature.
func Sign(in Input) (http.Header, error) {
	if in.Now.IsZero() {
		// A zero time would be signed as a timestamp in year 1 that every
		// receiver rejects; it is always a caller bug.
		return nil, errors.New("now is not set")
	}
	formats := in.Formats
	if len(formats) == 0 {
		formats = []Format{in.Format}
	}
	out := http.Header{}
	for _, f := range formats {
		one := in
		one.Format = f
		h, err := signOne(one)
		if err != nil {
			if len(formats) > 1 {
				return nil, fmt.Errorf("format %s: %w", f, err)
			}
			return nil, err
		}
		for k, vs := range h {
			if k == http.CanonicalHeaderKey(HeaderWebhookSignature) && len(out[k]) > 0 {
				out[k] = []string{out[k][0] + " " + strings.Join(vs, " ")}
				continue
			}
			out[k] = vs
		}
	}
	return out, nil
}

func signOne(in Input) (http.Header, error) {
	ts := strconv.FormatInt(in.Now.Unix(), 10)
	if in.Format == FormatStandardWebhooksAsymmetric {
		if in.DeliveryID == "" {
			return nil, errors.New("delivery id is empty")
		}
		if len(in.SigningKey) != ed25519.PrivateKeySize {
			return nil, errors.New("endpoint has no signing key")
		}
		msg := make([]byte, 0, len(in.DeliveryID)+len(ts)+2+len(in.Body))
		msg = append(append(append(append(append(msg, in.DeliveryID...), '.'), ts...), '.'), in.Body...)
		h := http.Header{}
		h.Set(HeaderWebhookID, in.DeliveryID)
		h.Set(HeaderWebhookTimestamp, ts)
		h.Set(HeaderWebhookSignature, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(in.SigningKey, msg)))
		return h, nil
	}
	secrets, err := validSecrets(in.Secrets, in.Now)
	if err != nil {
		return nil, err
	}

	switch in.Format {
	case FormatSimple:
		newHash, err := lookupHash(in.Hash)
		if err != nil {
			return nil, err
		}
		if in.Header == "" {
			return nil, errors.New("signature header name is empty")
		}
		h := http.Header{}
		prefix := ""
		if in.ReplayAttacks {
			prefix = ts + ","
			h.Set(HeaderTimestamp, ts)
		}
		// Only the newest secret: the simple format has room for one value.
		h.Set(in.Header, hexMAC(newHash, []byte(secrets[0]), prefix, in.Body))
		return h, nil

	case FormatAdvanced:
		newHash, err := lookupHash(in.Hash)
		if err != nil {
			return nil, err
		}
		if in.Header == "" {
			return nil, errors.New("signature header name is empty")
		}
		var b strings.Builder
		b.WriteString("t=")
		b.WriteString(ts)
		for _, s := range secrets {
			b.WriteString(",v1=")
			b.WriteString(hexMAC(newHash, []byte(s), ts+",", in.Body))
		}
		h := http.Header{}
		h.Set(in.Header, b.String())
		return h, nil

	case FormatStandardWebhooks:
		if in.DeliveryID == "" {
			return nil, errors.New("delivery id is empty")
		}
		prefix := in.DeliveryID + "." + ts + "."
		sigs := make([]string, 0, len(secrets))
		for i, s := range secrets {
			key, err := standardKey(s)
			if err != nil {
				// The position, not the value, identifies the secret.
				return nil, fmt.Errorf("secret %d: %w", i, err)
			}
			mac := hmac.New(sha256.New, key)
			mac.Write([]byte(prefix))
			mac.Write(in.Body)
			sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		}
		h := http.Header{}
		h.Set(HeaderWebhookID, in.DeliveryID)
		h.Set(HeaderWebhookTimestamp, ts)
		h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
		return h, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownFormat, in.Format)
}

// validSecrets drops expired secrets, keeping the newest-first order.
func validSecrets(all []Secret, now time.Time) ([]string, error) {
	out := make([]string, 0, len(all))
	for i, s := range all {
		if !s.ExpiresAt.IsZero() && !s.ExpiresAt.After(now) {
			continue
		}
		if s.Value == "" {
			// An empty HMAC key signs with no secret at all.
			return nil, fmt.Errorf("secret %d: %w: empty", i, ErrInvalidSecret)
		}
		out = append(out, s.Value)
	}
	if len(out) == 0 {
		return nil, ErrNoSecret
	}
	return out, nil
}

func lookupHash(name string) (func() hash.Hash, error) {
	newHash, ok := hmacs.New(name)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownHash, name)
	}
	return newHash, nil
}

// hexMAC computes the HMAC of prefix followed by body without concatenating
// them, so a large body is not copied.
func hexMAC(newHash func() hash.Hash, key []byte, prefix string, body []byte) string {
	mac := hmac.New(newHash, key)
	mac.Write([]byte(prefix))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// standardKey turns a Standard Webhooks secret into its HMAC key. Secrets
// created elsewhere without the prefix are used as raw bytes so endpoints can
// bring their own.
func standardKey(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, standardSecretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		// Our own text only: the error must not grow to include secret bytes
		// if the decoder's message ever changes.
		return nil, fmt.Errorf("%w: %s part is not valid base64", ErrInvalidSecret, standardSecretPrefix)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrInvalidSecret)
	}
	return key, nil
}
