package supervise

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// maxLine bounds how much of a line without a newline is buffered before it is written anyway.
const maxLine = 64 << 10

// Output writes whole lines from many sources to one writer, each line prefixed with its source
// name padded to a common width ("ingest-service     | ..."), so that lines from concurrent
// sources never interleave mid-line.
type Output struct {
	mu    sync.Mutex
	w     io.Writer
	width int
}

// NewOutput returns an Output writing to w, padding source names to width characters.
func NewOutput(w io.Writer, width int) *Output {
	return &Output{w: w, width: width}
}

// Writer returns a writer for one source. Each source needs its own (stdout and stderr of one
// process included): a writer buffers the partial line it has been given so far.
func (o *Output) Writer(name string) *LineWriter {
	return &LineWriter{out: o, prefix: fmt.Appendf(nil, "%-*s | ", o.width, name)}
}

// writeLines writes already prefixed, newline-terminated lines in one call.
func (o *Output) writeLines(b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(b)
}

// LineWriter is an io.Writer that forwards whole lines to its Output.
type LineWriter struct {
	mu     sync.Mutex
	out    *Output
	prefix []byte
	buf    []byte
}

// Write buffers p and writes every completed line. It never fails: output is best effort.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	var lines []byte
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			if len(l.buf) < maxLine {
				break
			}
			i = maxLine - 1 // an overlong line is cut rather than buffered without bound
			lines = l.appendLine(lines, l.buf[:i+1])
			l.buf = l.buf[i+1:]
			continue
		}
		lines = l.appendLine(lines, l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	if len(lines) > 0 {
		l.out.writeLines(lines)
	}
	if len(l.buf) == 0 {
		l.buf = nil // let a large buffer go
	}
	return len(p), nil
}

// Flush writes a pending partial line, as when a process exits without a final newline.
func (l *LineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.out.writeLines(l.appendLine(nil, l.buf))
		l.buf = nil
	}
}

// Sync implements zapcore.WriteSyncer; lines are written as soon as they are complete.
func (l *LineWriter) Sync() error { return nil }

func (l *LineWriter) appendLine(dst, line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\r"))
	dst = append(dst, l.prefix...)
	dst = append(dst, line...)
	return append(dst, '\n')
}
