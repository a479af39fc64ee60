package envconf

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestReportsEveryBadVariable(t *testing.T) {
	r := FromMap(map[string]string{
		"A_INT": "x", "A_DUR": "-1s", "A_BOOL": "maybe", "A_ONE": "purple", "CONVOY_LOG_LEVEL": "loud",
	})
	r.Int("A_INT", 1, 0, 10)
	r.Duration("A_DUR", time.Second)
	r.Bool("A_BOOL", true)
	r.OneOf("A_ONE", "red", "red", "blue")
	r.ReadCommon(":0")
	err := r.Err()
	if err == nil {
		t.Fatal("no error for bad values")
	}
	for _, name := range []string{"A_INT", "A_DUR", "A_BOOL", "A_ONE", "CONVOY_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestDefaultsAndValues(t *testing.T) {
	r := FromMap(map[string]string{"N": "7", "D": "2m", "B": "false", "S": "  x "})
	if got := r.Int("N", 1, 0, 10); got != 7 {
		t.Errorf("Int = %d", got)
	}
	if got := r.Duration("D", time.Second); got != 2*time.Minute {
		t.Errorf("Duration = %v", got)
	}
	if got := r.Bool("B", true); got {
		t.Errorf("Bool = %v", got)
	}
	if got := r.String("S", "d"); got != "x" {
		t.Errorf("String = %q", got)
	}
	if got := r.String("MISSING", "d"); got != "d" {
		t.Errorf("default String = %q", got)
	}
	c := r.ReadCommon(":9")
	if c.OpsAddr != ":9" || c.NATSReplicas != 1 || c.MongoDatabase != "convoy" {
		t.Errorf("common defaults: %+v", c)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestKeyring(t *testing.T) {
	good := "k1:" + strings.Repeat("A", 43) + "=" // 32 zero bytes
	file := t.TempDir() + "/keys"
	if err := os.WriteFile(file, []byte("k2:"+strings.Repeat("A", 43)+"=\n"+good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		env     map[string]string
		wantIDs string
		wantErr string
	}{
		{name: "none", env: map[string]string{}},
		{name: "inline", env: map[string]string{"CONVOY_ENCRYPTION_KEYS": good}, wantIDs: "k1"},
		{name: "file", env: map[string]string{"CONVOY_ENCRYPTION_KEY_FILE": file}, wantIDs: "k2,k1"},
		{name: "both", env: map[string]string{"CONVOY_ENCRYPTION_KEYS": good, "CONVOY_ENCRYPTION_KEY_FILE": file}, wantErr: "both set"},
		{name: "wrong length", env: map[string]string{"CONVOY_ENCRYPTION_KEYS": "k:AAAA"}, wantErr: "CONVOY_ENCRYPTION_KEYS: key \"k\": 3 bytes"},
		{name: "bad base64", env: map[string]string{"CONVOY_ENCRYPTION_KEYS": "k:***"}, wantErr: "not base64"},
		{name: "duplicate id", env: map[string]string{"CONVOY_ENCRYPTION_KEYS": good + "," + good}, wantErr: "duplicate id"},
		{name: "missing file", env: map[string]string{"CONVOY_ENCRYPTION_KEY_FILE": file + ".x"}, wantErr: "CONVOY_ENCRYPTION_KEY_FILE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := FromMap(c.env)
			kr := r.ReadCommon(":0").Keyring
			err := r.Err()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), strings.Repeat("A", 43)) {
					t.Errorf("the error shows key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(kr.IDs(), ","); got != c.wantIDs {
				t.Errorf("IDs = %q, want %q", got, c.wantIDs)
			}
		})
	}
}
