package secretbox_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"convoy/core/secretbox"
)

func key(t *testing.T, id string) string {
	t.Helper()
	k, err := secretbox.NewKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ring(t *testing.T, keys ...string) *secretbox.Keyring {
	t.Helper()
	k, err := secretbox.Parse(strings.Join(keys, ","))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTripNamesTheActiveKey(t *testing.T) {
	a, b := key(t, "a"), key(t, "b")
	kr := ring(t, a, b)
	sealed, err := kr.Seal("whsec_plain", "ep1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "enc:v1:a:") || strings.Contains(sealed, "whsec_plain") {
		t.Fatalf("sealed = %q", sealed)
	}
	if got := secretbox.KeyID(sealed); got != "a" {
		t.Errorf("KeyID = %q", got)
	}
	again, _ := kr.Seal("whsec_plain", "ep1")
	if again == sealed {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	for name, opener := range map[string]*secretbox.Keyring{"same": kr, "b first": ring(t, b, a)} {
		got, err := opener.Open(sealed, "ep1")
		if err != nil || got != "whsec_plain" {
			t.Errorf("%s: Open = %q, %v", name, got, err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	a := key(t, "a")
	kr := ring(t, a)
	sealed, err := kr.Seal("s3cret", "ep1")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(sealed, "enc:v1:a:")
	raw, _ := base64.RawStdEncoding.DecodeString(body)
	raw[len(raw)-1] ^= 1
	tampered := "enc:v1:a:" + base64.RawStdEncoding.EncodeToString(raw)
	otherA := ring(t, "a:"+strings.SplitN(key(t, "x"), ":", 2)[1]) // same id, other key bytes

	cases := []struct {
		name  string
		kr    *secretbox.Keyring
		value string
		docID string
		want  error
	}{
		{"wrong key under the same id", otherA, sealed, "ep1", secretbox.ErrTampered},
		{"key not configured", ring(t, key(t, "b")), sealed, "ep1", secretbox.ErrUnknownKey},
		{"no keyring", nil, sealed, "ep1", secretbox.ErrNoKeyring},
		{"tampered", kr, tampered, "ep1", secretbox.ErrTampered},
		{"moved to another document", kr, sealed, "ep2", secretbox.ErrTampered},
		{"truncated", kr, "enc:v1:a:AAAA", "ep1", secretbox.ErrTampered},
		{"no key id", kr, "enc:v1:", "ep1", secretbox.ErrTampered},
		{"bad base64", kr, "enc:v1:a:!!", "ep1", secretbox.ErrTampered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.kr.Open(c.value, c.docID)
			if !errors.Is(err, c.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestPlaintextAndEmptyPassThrough(t *testing.T) {
	kr := ring(t, key(t, "a"))
	for _, k := range []*secretbox.Keyring{kr, nil} {
		if got, err := k.Open("stored-before-encryption", "ep1"); err != nil || got != "stored-before-encryption" {
			t.Errorf("Open(plaintext) = %q, %v", got, err)
		}
	}
	if got, _ := kr.Seal("", "ep1"); got != "" {
		t.Errorf("Seal(empty) = %q", got)
	}
	var none *secretbox.Keyring
	if got, _ := none.Seal("x", "ep1"); got != "x" {
		t.Errorf("nil keyring Seal = %q", got)
	}
	if none.ActiveID() != "" || none.Has("a") || len(none.IDs()) != 0 {
		t.Error("nil keyring holds a key")
	}
}

func TestParse(t *testing.T) {
	good := key(t, "k1")
	b64 := strings.SplitN(good, ":", 2)[1]
	raw, _ := base64.StdEncoding.DecodeString(b64)
	cases := []struct {
		name, in, wantErr string
		wantIDs           []string
	}{
		{name: "one", in: good, wantIDs: []string{"k1"}},
		{name: "two with spaces and newline", in: " " + good + " ,\n k2:" + base64.RawURLEncoding.EncodeToString(raw) + "\n", wantIDs: []string{"k1", "k2"}},
		{name: "short key", in: "k:" + base64.StdEncoding.EncodeToString(raw[:16]), wantErr: "16 bytes, want 32"},
		{name: "bad base64", in: "k:@@@", wantErr: "not base64"},
		{name: "duplicate id", in: good + "," + good, wantErr: "duplicate id"},
		{name: "no id", in: b64, wantErr: "want id:base64key"},
		{name: "bad id", in: "a b:" + b64, wantErr: "id \"a b\""},
		{name: "empty", in: " , ", wantErr: "no key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kr, err := secretbox.Parse(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kr.IDs(); strings.Join(got, ",") != strings.Join(c.wantIDs, ",") {
				t.Errorf("IDs = %v", got)
			}
			if kr.ActiveID() != c.wantIDs[0] || !kr.Has(c.wantIDs[len(c.wantIDs)-1]) {
				t.Errorf("ActiveID = %q", kr.ActiveID())
			}
		})
	}
	if _, err := secretbox.Parse("a:" + b64 + ",b:short"); err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("a bad second key is not named: %v", err)
	}
}
