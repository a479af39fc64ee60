package envconf

import (
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
