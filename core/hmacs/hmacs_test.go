package hmacs

import (
	"crypto/hmac"
	"encoding/hex"
	"testing"
)

func TestNew(t *testing.T) {
	// Digests of the empty string from FIPS 180-4 / FIPS 202 and RFC 1321: they pin
	// each name to the right algorithm, which a size check alone would not (SHA3_256
	// and SHA512_256 are both 32 bytes).
	tests := []struct {
		name  string
		size  int
		empty string
	}{
		{"MD5", 16, "d41d8cd98f00b204e9800998ecf8427e"},
		{"SHA1", 20, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"SHA224", 28, "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"},
		{"SHA256", 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"SHA384", 48, "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"},
		{"SHA512", 64, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
		{"SHA3_224", 28, "6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7"},
		{"SHA3_256", 32, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"},
		{"SHA3_384", 48, "0c63a75b845e4f7d01107d852e4c2485c51a50aaaa94fc61995e71bbee983a2ac3713831264adb47fb6bd1e058d5f004"},
		{"SHA3_512", 64, "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a615b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26"},
		{"SHA512_224", 28, "6ed0dd02806fa89e25de060c19d3ac86cabb87d6a0ddd05c333b84f4"},
		{"SHA512_256", 32, "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newHash, ok := New(tt.name)
			if !ok {
				t.Fatalf("New(%q) not found", tt.name)
			}
			h := newHash()
			if h.Size() != tt.size {
				t.Errorf("size = %d, want %d", h.Size(), tt.size)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != tt.empty {
				t.Errorf("empty digest = %s, want %s", got, tt.empty)
			}
			// Every constructor must be usable by crypto/hmac, which calls it twice
			// and needs independent instances.
			mac := hmac.New(newHash, []byte("key"))
			mac.Write([]byte("body"))
			if len(mac.Sum(nil)) != tt.size {
				t.Errorf("hmac size = %d, want %d", len(mac.Sum(nil)), tt.size)
			}
		})
	}
	if len(tests) != len(Names) {
		t.Errorf("table covers %d names, Names has %d", len(tests), len(Names))
	}
}

func TestNamesAllResolve(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range Names {
		if seen[name] {
			t.Errorf("duplicate name %q", name)
		}
		seen[name] = true
		if !Valid(name) {
			t.Errorf("Names contains %q but New does not know it", name)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for _, name := range []string{"", "sha256", "Sha256", "SHA-256", "SHA3-256", "SHA256 ", "BLAKE2B", "SHA512/256"} {
		t.Run(name, func(t *testing.T) {
			if f, ok := New(name); ok || f != nil {
				t.Errorf("New(%q) = (%v, %v), want (nil, false)", name, f != nil, ok)
			}
			if Valid(name) {
				t.Errorf("Valid(%q) = true", name)
			}
		})
	}
}
