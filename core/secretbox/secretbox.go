// Package secretbox seals short secrets (signing secrets, credentials) with
// AES-256-GCM under versioned keys, so that a database dump does not reveal
// them and keys can be replaced without downtime: a ciphertext names the key
// that sealed it, the first key of a Keyring seals, and every key opens.
//
// A sealed value is text, `enc:v1:<key id>:<base64(nonce|ciphertext)>`, so
// it fits the string fields that held the plaintext. Each value is bound to
// the document it belongs to (its id is GCM's additional data): a value
// copied into another document does not open.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Prefix starts every sealed value (format version 1).
const Prefix = "enc:v1:"

// KeySize is the length of a key: AES-256.
const KeySize = 32

// ErrUnknownKey is returned when a value was sealed with a key the keyring
// does not hold.
var ErrUnknownKey = errors.New("sealed with a key that is not configured")

// ErrNoKeyring is returned when a sealed value is read without any key.
var ErrNoKeyring = errors.New("sealed value read without an encryption key configured")

// ErrTampered is returned when a value does not open under its key: it was
// altered, or belongs to another document.
var ErrTampered = errors.New("sealed value does not authenticate")

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Keyring holds the configured keys. The first seals; all open. A nil
// *Keyring holds no key: it seals nothing and opens only plaintext.
type Keyring struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// Parse reads keys written as `id:base64key,id2:base64key` (standard or URL
// base64, padded or not; whitespace and newlines around entries are
// ignored). It reports every malformed entry at once.
func Parse(s string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	var errs []error
	entries := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, b64, ok := strings.Cut(entry, ":")
		id = strings.TrimSpace(id)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("key %d: want id:base64key", i+1))
			continue
		case !keyIDPattern.MatchString(id):
			errs = append(errs, fmt.Errorf("key %d: id %q: want 1 to 64 letters, digits, '.', '_' or '-'", i+1, id))
			continue
		case k.aeads[id] != nil:
			errs = append(errs, fmt.Errorf("key %q: duplicate id", id))
			continue
		}
		raw, err := decodeKey(strings.TrimSpace(b64))
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: not base64", id))
			continue
		}
		if len(raw) != KeySize {
			errs = append(errs, fmt.Errorf("key %q: %d bytes, want %d (AES-256)", id, len(raw), KeySize))
			continue
		}
		block, _ := aes.NewCipher(raw) // the length is checked above
		aead, _ := cipher.NewGCM(block)
		k.ids = append(k.ids, id)
		k.aeads[id] = aead
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(k.ids) == 0 {
		return nil, errors.New("no key")
	}
	return k, nil
}

// ParseFile reads keys in Parse's format from a file.
func ParseFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	return Parse(string(b))
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// NewKey returns a random key in Parse's format under id.
func NewKey(id string) (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(b), nil
}

// ActiveID is the id of the key that seals; empty for a nil keyring.
func (k *Keyring) ActiveID() string {
	if k == nil {
		return ""
	}
	return k.ids[0]
}

// IDs lists the key ids, the active one first.
func (k *Keyring) IDs() []string {
	if k == nil {
		return nil
	}
	return append([]string(nil), k.ids...)
}

// Has reports whether the keyring holds the key id.
func (k *Keyring) Has(id string) bool { return k != nil && k.aeads[id] != nil }

// Seal encrypts plaintext for the document docID under the active key. The
// empty string stays empty (it means "not set"), and a nil keyring returns
// plaintext unchanged.
func (k *Keyring) Seal(plaintext, docID string) (string, error) {
	if k == nil || plaintext == "" {
		return plaintext, nil
	}
	id := k.ids[0]
	aead := k.aeads[id]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(plaintext), []byte(docID))
	return Prefix + id + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal made for docID, with whichever key it names.
// A value that is not sealed (stored before encryption was configured) is
// returned as it is.
func (k *Keyring) Open(value, docID string) (string, error) {
	id, body, sealed, err := split(value)
	if err != nil || !sealed {
		return value, err
	}
	if k == nil {
		return "", fmt.Errorf("key %q: %w", id, ErrNoKeyring)
	}
	aead := k.aeads[id]
	if aead == nil {
		return "", fmt.Errorf("key %q: %w", id, ErrUnknownKey)
	}
	if len(body) < aead.NonceSize()+aead.Overhead() {
		return "", ErrTampered
	}
	plain, err := aead.Open(nil, body[:aead.NonceSize()], body[aead.NonceSize():], []byte(docID))
	if err != nil {
		return "", ErrTampered
	}
	return string(plain), nil
}

// split splits a stored value: whether it is sealed, and if so the key id
// and the nonce and ciphertext.
func split(value string) (keyID string, body []byte, sealed bool, err error) {
	rest, ok := strings.CutPrefix(value, Prefix)
	if !ok {
		return "", nil, false, nil
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok || id == "" {
		return "", nil, true, fmt.Errorf("sealed value without a key id: %w", ErrTampered)
	}
	body, err = base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return id, nil, true, fmt.Errorf("sealed value not base64: %w", ErrTampered)
	}
	return id, body, true, nil
}

// KeyID returns the id of the key that sealed value, or "" when value is
// plaintext.
func KeyID(value string) string {
	rest, ok := strings.CutPrefix(value, Prefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}
