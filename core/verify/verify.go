// Package verify lets a webhook receiver check that a request really came from
// Convoy and is recent. It understands the three signature formats an endpoint
// can be configured with — Convoy's "simple" and "advanced" formats and
// Standard Webhooks, symmetric (v1) and asymmetric (v1a, ed25519). Besides the standard library it imports only
// convoy/core/hmacs, so receivers do not pull in the rest of Convoy.
//
// Verify the exact bytes received, before decoding the JSON: re-encoding the
// body changes the bytes and the signature no longer matches.
//
//	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//	err := verify.Verify(verify.Options{Format: verify.FormatAdvanced, Hash: "SHA256"},
//		[]string{secret}, r.Header, body)
//	if err != nil {
//		http.Error(w, "invalid signature", http.StatusUnauthorized)
//		return
//	}
//
// During secret rotation pass every secret the receiver still trusts: Verify
// succeeds when any of them matches any signature in the request.
package verify

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

// Format names as configured on a Convoy endpoint.
const (
	// FormatSimple: the signature header holds one lowercase hex HMAC of the
	// body, or of "<Convoy-Timestamp>,<body>" when replay protection is on.
	FormatSimple = "simple"
	// FormatAdvanced: the signature header holds "t=<unix>,v1=<hex>,..." with
	// one v1 per active secret, each an HMAC of "<t>,<body>".
	FormatAdvanced = "advanced"
	// FormatStandardWebhooks: https://www.standardwebhooks.com — webhook-id,
	// webhook-timestamp and webhook-signature headers, HMAC-SHA256.
	FormatStandardWebhooks = "standard-webhooks"
	// FormatStandardWebhooksAsymmetric: the same headers, with a "v1a"
	// ed25519 signature verified with the endpoint's public key
	// ("whpk_<base64>", from the endpoint's public_key route), passed in
	// place of the secrets.
	FormatStandardWebhooksAsymmetric = "standard-webhooks-asymmetric"
)

// Defaults applied to zero Options fields.
const (
	// DefaultTolerance is how far a signed timestamp may be from the receiver's
	// clock, in either direction. Five minutes is what Standard Webhooks
	// receivers use; it absorbs clock skew and retry latency while keeping the
	// window for replaying a captured request short.
	DefaultTolerance = 5 * time.Minute
	// DefaultHeader is Convoy's default signature header name.
	DefaultHeader = "X-Convoy-Signature"
	// DefaultHash is Convoy's default hash function.
	DefaultHash = "SHA256"
)

// Header names fixed by the formats.
const (
	headerTimestamp        = "Convoy-Timestamp"
	headerWebhookID        = "webhook-id"
	headerWebhookTimestamp = "webhook-timestamp"
	headerWebhookSignature = "webhook-signature"
	standardSecretPrefix   = "whsec_"
	publicKeyPrefix        = "whpk_"
)

// Errors returned by Verify, for errors.Is. A receiver should answer every one
// of them the same way (reject the request); they differ only to help whoever
// debugs a misconfiguration. None of them ever contains a secret.
var (
	// ErrNoSignature: the request carries no signature header, or no
	// signature of a version this package understands.
	ErrNoSignature = errors.New("no signature")
	// ErrNoTimestamp: the format requires a signed timestamp and it is absent.
	ErrNoTimestamp = errors.New("no timestamp")
	// ErrMalformed: a signature or timestamp header cannot be parsed.
	ErrMalformed = errors.New("malformed signature header")
	// ErrTimestampTooOld: the signed timestamp is older than the tolerance,
	// so the request may be a replay.
	ErrTimestampTooOld = errors.New("timestamp too old")
	// ErrTimestampTooNew: the signed timestamp is further in the future than
	// the tolerance, which points at clock skew between sender and receiver.
	ErrTimestampTooNew = errors.New("timestamp too far in the future")
	// ErrMismatch: no signature matches any of the secrets.
	ErrMismatch = errors.New("signature does not match")

	// Configuration errors: the receiver's own setup is wrong.
	ErrUnknownFormat = errors.New("unknown signature format")
	ErrUnknownHash   = errors.New("unknown hash function")
	ErrNoSecret      = errors.New("no secret to verify with")
	ErrInvalidSecret = errors.New("invalid secret")
)

// Options describe how the endpoint's signatures are made. They mirror the
// endpoint's configuration in Convoy.
type Options struct {
	// Format is FormatSimple, FormatAdvanced or FormatStandardWebhooks.
	Format string
	// Hash is one of the names in convoy/core/hmacs (for example "SHA256",
	// "SHA3_512"); empty means DefaultHash. Standard Webhooks ignores it and
	// always uses SHA256.
	Hash string
	// Header is the signature header for the simple and advanced formats;
	// empty means DefaultHeader.
	Header string
	// ReplayAttacks must match the endpoint's replay-protection setting in the
	// simple format: when true the Convoy-Timestamp header is required, signed
	// and checked against Tolerance. The other formats always carry a signed
	// timestamp and always check it.
	ReplayAttacks bool
	// Tolerance is the largest accepted distance between the signed timestamp
	// and Now; zero or negative means DefaultTolerance.
	Tolerance time.Duration
	// Now returns the current time; nil means time.Now. Tests fix it.
	Now func() time.Time
}

// Verify checks the signature headers of a received webhook against body, the
// raw request body. It returns nil when any of secrets produced any of the
// signatures present and the signed timestamp, if the format has one, is within
// the tolerance. Comparisons run in constant time.
func Verify(opts Options, secrets []string, header http.Header, body []byte) error {
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	for i, s := range secrets {
		if s == "" {
			// An empty key is one every attacker knows.
			return fmt.Errorf("%w: secret %d is empty", ErrInvalidSecret, i)
		}
	}
	switch opts.Format {
	case FormatSimple:
		return verifySimple(opts, secrets, header, body)
	case FormatAdvanced:
		return verifyAdvanced(opts, secrets, header, body)
	case FormatStandardWebhooks:
		return verifyStandard(opts, secrets, header, body)
	case FormatStandardWebhooksAsymmetric:
		return verifyAsymmetric(opts, secrets, header, body)
	}
	return fmt.Errorf("%w %q", ErrUnknownFormat, opts.Format)
}

func verifySimple(opts Options, secrets []string, header http.Header, body []byte) error {
	newHash, err := opts.hash()
	if err != nil {
		return err
	}
	sig := strings.TrimSpace(header.Get(opts.header()))
	if sig == "" {
		return fmt.Errorf("%w: %s header is empty", ErrNoSignature, opts.header())
	}
	var prefix string
	if opts.ReplayAttacks {
		ts := strings.TrimSpace(header.Get(headerTimestamp))
		if ts == "" {
			return fmt.Errorf("%w: %s header is empty", ErrNoTimestamp, headerTimestamp)
		}
		if err := opts.checkTimestamp(ts); err != nil {
			return err
		}
		prefix = ts + ","
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return ErrMismatch
	}
	for _, s := range secrets {
		if hmac.Equal(got, mac(newHash, []byte(s), prefix, body)) {
			return nil
		}
	}
	return ErrMismatch
}

func verifyAdvanced(opts Options, secrets []string, header http.Header, body []byte) error {
	newHash, err := opts.hash()
	if err != nil {
		return err
	}
	value := header.Get(opts.header())
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("%w: %s header is empty", ErrNoSignature, opts.header())
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(value, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: element without '='", ErrMalformed)
		}
		switch key {
		case "t":
			if ts != "" {
				// Two timestamps would let a forger choose which one we check.
				return fmt.Errorf("%w: more than one t", ErrMalformed)
			}
			ts = val
		case "v1":
			if b, err := hex.DecodeString(val); err == nil {
				sigs = append(sigs, b)
			}
		default:
			// Unknown versions are skipped so a sender can add a new scheme
			// alongside v1 without breaking existing receivers.
		}
	}
	if ts == "" {
		return fmt.Errorf("%w: no t element", ErrNoTimestamp)
	}
	if err := opts.checkTimestamp(ts); err != nil {
		return err
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1 element", ErrNoSignature)
	}
	return matchAny(secrets, sigs, func(secret string) ([]byte, error) {
		return mac(newHash, []byte(secret), ts+",", body), nil
	})
}

func verifyStandard(opts Options, secrets []string, header http.Header, body []byte) error {
	prefix, sigs, err := standardSignatures(opts, header, "v1")
	if err != nil {
		return err
	}
	return matchAny(secrets, sigs, func(secret string) ([]byte, error) {
		key, err := standardKey(secret)
		if err != nil {
			return nil, err
		}
		return mac(sha256.New, key, prefix, body), nil
	})
}

// verifyAsymmetric checks v1a signatures against public keys. Every key is
// tried against every signature, as matchAny does for secrets.
func verifyAsymmetric(opts Options, publicKeys []string, header http.Header, body []byte) error {
	keys := make([]ed25519.PublicKey, len(publicKeys))
	for i, k := range publicKeys {
		rest, ok := strings.CutPrefix(k, publicKeyPrefix)
		b, err := base64.StdEncoding.DecodeString(rest)
		if !ok || err != nil || len(b) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: public key %d is not a %s<base64 ed25519 key>", ErrInvalidSecret, i, publicKeyPrefix)
		}
		keys[i] = b
	}
	prefix, sigs, err := standardSignatures(opts, header, "v1a")
	if err != nil {
		return err
	}
	msg := append([]byte(prefix), body...)
	matched := false
	for _, k := range keys {
		for _, sig := range sigs {
			if ed25519.Verify(k, msg, sig) {
				matched = true
			}
		}
	}
	if !matched {
		return ErrMismatch
	}
	return nil
}

// standardSignatures checks the Standard Webhooks headers and returns the
// signed prefix ("<id>.<timestamp>.") and the decoded signatures of the
// given version.
func standardSignatures(opts Options, header http.Header, want string) (string, [][]byte, error) {
	values := header.Values(headerWebhookSignature)
	if len(values) == 0 {
		return "", nil, fmt.Errorf("%w: %s header is empty", ErrNoSignature, headerWebhookSignature)
	}
	id := header.Get(headerWebhookID)
	if id == "" {
		return "", nil, fmt.Errorf("%w: %s header is empty", ErrMalformed, headerWebhookID)
	}
	ts := header.Get(headerWebhookTimestamp)
	if ts == "" {
		return "", nil, fmt.Errorf("%w: %s header is empty", ErrNoTimestamp, headerWebhookTimestamp)
	}
	if err := opts.checkTimestamp(ts); err != nil {
		return "", nil, err
	}
	var sigs [][]byte
	for _, v := range values {
		for entry := range strings.FieldsSeq(v) {
			version, sig, ok := strings.Cut(entry, ",")
			if !ok || version != want {
				// Other versions (v1 symmetric, v1a asymmetric) are checked
				// by the other format.
				continue
			}
			if b, err := base64.StdEncoding.DecodeString(sig); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if len(sigs) == 0 {
		return "", nil, fmt.Errorf("%w: no %s signature", ErrNoSignature, want)
	}
	return id + "." + ts + ".", sigs, nil
}

// matchAny reports success when any secret's MAC equals any received
// signature. Every pair is compared, without stopping early on the secret
// side, so timing reveals nothing about which secret matched.
func matchAny(secrets []string, sigs [][]byte, compute func(secret string) ([]byte, error)) error {
	matched := false
	for i, s := range secrets {
		want, err := compute(s)
		if err != nil {
			return fmt.Errorf("secret %d: %w", i, err)
		}
		for _, got := range sigs {
			if hmac.Equal(got, want) {
				matched = true
			}
		}
	}
	if !matched {
		return ErrMismatch
	}
	return nil
}

func mac(newHash func() hash.Hash, key []byte, prefix string, body []byte) []byte {
	m := hmac.New(newHash, key)
	m.Write([]byte(prefix))
	m.Write(body)
	return m.Sum(nil)
}

// standardKey decodes a "whsec_<base64>" secret; a secret without the prefix
// is used as raw bytes, as Convoy does when signing.
func standardKey(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, standardSecretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) == 0 {
		// Our own text only, so the secret can never leak into an error.
		return nil, fmt.Errorf("%w: not valid base64 after %s", ErrInvalidSecret, standardSecretPrefix)
	}
	return key, nil
}

func (o Options) hash() (func() hash.Hash, error) {
	name := o.Hash
	if name == "" {
		name = DefaultHash
	}
	newHash, ok := hmacs.New(name)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownHash, name)
	}
	return newHash, nil
}

func (o Options) header() string {
	if o.Header == "" {
		return DefaultHeader
	}
	return o.Header
}

// checkTimestamp parses ts, a decimal unix time in seconds, and checks it
// against the tolerance. The caller signs ts exactly as received, never a
// re-formatted copy, so the check and the MAC see the same value.
func (o Options) checkTimestamp(ts string) error {
	// Digits only: ParseInt would also accept a sign, which no sender emits.
	for _, c := range ts {
		if c < '0' || c > '9' {
			return fmt.Errorf("%w: timestamp is not a unix time in seconds", ErrMalformed)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not a unix time in seconds", ErrMalformed)
	}
	tolerance := o.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	// Compare in seconds: time.Unix of a huge value would overflow a Duration.
	current := now().Unix()
	limit := int64(tolerance / time.Second)
	switch {
	case sec < current-limit:
		return ErrTimestampTooOld
	case sec > current+limit:
		return ErrTimestampTooNew
	}
	return nil
}
