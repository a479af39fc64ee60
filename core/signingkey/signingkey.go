// Package signingkey makes and reads the ed25519 key pairs of Standard
// Webhooks' asymmetric signatures: the private key signs in the dispatcher,
// the public key is what receivers verify with.
package signingkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
)

// Key prefixes of Standard Webhooks' asymmetric keys.
const (
	secretKeyPrefix = "whsk_"
	publicKeyPrefix = "whpk_"
)

// New returns a new ed25519 key pair as stored and shown: the
// private key "whsk_<base64 of the 64-byte key>" and the public key
// "whpk_<base64 of the 32-byte key>".
func New() (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return secretKeyPrefix + base64.StdEncoding.EncodeToString(priv), publicKeyPrefix + base64.StdEncoding.EncodeToString(pub), nil
}

// Parse reads a stored private key. Its error never contains key
// bytes.
func Parse(s string) (ed25519.PrivateKey, error) {
	rest, ok := strings.CutPrefix(s, secretKeyPrefix)
	if !ok {
		return nil, errors.New("signing key is not a " + secretKeyPrefix + " key")
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(b) != ed25519.PrivateKeySize {
		return nil, errors.New("signing key is not a base64 ed25519 private key")
	}
	return ed25519.PrivateKey(b), nil
}

// PublicKey returns the whpk_ public key of a stored private key.
func Public(private string) (string, error) {
	k, err := Parse(private)
	if err != nil {
		return "", err
	}
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey)), nil
}
