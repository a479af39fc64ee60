// Package hmacs is the single table of hash functions an endpoint may choose for
// its signatures. The API validates configuration against it and the signer and
// verifier build their HMACs from it, so a name can never be accepted that cannot
// also be produced.
package hmacs

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"hash"
)

// Names lists the accepted hash names in the exact case the API and the stored
// configuration use. Callers must not modify it.
var Names = []string{
	"MD5",
	"SHA1",
	"SHA224",
	"SHA256",
	"SHA384",
	"SHA512",
	"SHA3_224",
	"SHA3_256",
	"SHA3_384",
	"SHA3_512",
	"SHA512_224",
	"SHA512_256",
}

// New returns the constructor for the named hash, ready to pass to hmac.New.
// Matching is case-sensitive: "sha256" is not a valid name, because a looser
// match here would let the API store a spelling other components reject.
func New(name string) (func() hash.Hash, bool) {
	// A switch instead of a package-level map keeps the package free of mutable
	// state that another package could alter.
	switch name {
	case "MD5":
		return md5.New, true
	case "SHA1":
		return sha1.New, true
	case "SHA224":
		return sha256.New224, true
	case "SHA256":
		return sha256.New, true
	case "SHA384":
		return sha512.New384, true
	case "SHA512":
		return sha512.New, true
	case "SHA3_224":
		return func() hash.Hash { return sha3.New224() }, true
	case "SHA3_256":
		return func() hash.Hash { return sha3.New256() }, true
	case "SHA3_384":
		return func() hash.Hash { return sha3.New384() }, true
	case "SHA3_512":
		return func() hash.Hash { return sha3.New512() }, true
	case "SHA512_224":
		return sha512.New512_224, true
	case "SHA512_256":
		return sha512.New512_256, true
	}
	return nil, false
}

// Valid reports whether name is one of Names.
func Valid(name string) bool {
	_, ok := New(name)
	return ok
}
