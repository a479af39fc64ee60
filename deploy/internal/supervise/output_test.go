package supervise

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestLineWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		flush  bool
		want   string
	}{
		{"whole lines", []string{"a\nb\n"}, false, "svc  | a\nsvc  | b\n"},
		{"split across writes", []string{"he", "llo\nwor", "ld\n"}, false, "svc  | hello\nsvc  | world\n"},
		{"partial line waits", []string{"no newline"}, false, ""},
		{"flush writes partial line", []string{"tail"}, true, "svc  | tail\n"},
		{"crlf", []string{"dos\r\n"}, false, "svc  | dos\n"},
		{"empty line", []string{"\n"}, false, "svc  | \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewOutput(&buf, 4).Writer("svc")
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if tt.flush {
				w.Flush()
			}
			if got := buf.String(); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLineWriterCutsOverlongLines(t *testing.T) {
	var buf bytes.Buffer
	w := NewOutput(&buf, 1).Writer("x")
	_, _ = w.Write(bytes.Repeat([]byte("y"), maxLine+10))
	w.Flush()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || len(lines[0]) != len("x | ")+maxLine || len(lines[1]) != len("x | ")+10 {
		t.Fatalf("got %d lines of lengths %d...", len(lines), len(lines[0]))
	}
}

// TestOutputNeverInterleaves writes from many sources at once, in odd-sized pieces, and checks
// that every output line is one whole line of one source.
func TestOutputNeverInterleaves(t *testing.T) {
	var buf bytes.Buffer
	out := NewOutput(&buf, 6)
	const sources, lines = 8, 500
	var wg sync.WaitGroup
	for s := range sources {
		wg.Go(func() {
			w := out.Writer(fmt.Sprintf("src%d", s))
			var all []byte
			for i := range lines {
				all = fmt.Appendf(all, "source %d line %d %s\n", s, i, strings.Repeat("z", i%50))
			}
			for len(all) > 0 {
				n := min(len(all), 7+s)
				_, _ = w.Write(all[:n])
				all = all[n:]
			}
		})
	}
	wg.Wait()

	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(got) != sources*lines {
		t.Fatalf("got %d lines, want %d", len(got), sources*lines)
	}
	next := make([]int, sources)
	for _, line := range got {
		var s, i int
		if _, err := fmt.Sscanf(line[len("src0   | "):], "source %d line %d", &s, &i); err != nil {
			t.Fatalf("malformed line %q: %v", line, err)
		}
		want := fmt.Sprintf("src%d   | source %d line %d %s", s, s, next[s], strings.Repeat("z", next[s]%50))
		if line != want {
			t.Fatalf("line %q, want %q", line, want)
		}
		next[s]++
	}
}
