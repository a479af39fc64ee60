package embedded

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// stringer counts how often it is formatted.
type stringer struct{ n *int }

func (s stringer) String() string { *s.n++; return "formatted" }

func TestQuietLoggerFormatsOnlyWrittenRecords(t *testing.T) {
	var buf bytes.Buffer
	var formatted int
	log := QuietLogger(&buf, slog.LevelError)

	withDoc := log.With("doc", stringer{&formatted}).WithGroup("sql").With("query", "INSERT")
	withDoc.Warn("not written")
	if formatted != 0 || buf.Len() != 0 {
		t.Fatalf("a record below the level formatted attributes %d times and wrote %q", formatted, buf.String())
	}

	withDoc.Error("written", "n", 1)
	line := buf.String()
	if formatted != 1 {
		t.Errorf("attributes formatted %d times for one written record, want 1", formatted)
	}
	for _, want := range []string{"level=ERROR", "msg=written", "doc=formatted", "sql.query=INSERT", "sql.n=1"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
}
