package embedded

import (
	"context"
	"io"
	"log/slog"
)

// QuietLogger returns a text logger to w that writes records at level or above and formats a
// logger's attributes only when one of those is written. slog's own handlers format
// attributes as soon as Logger.With adds them, and FerretDB adds the SQL text and arguments
// (the whole document) to a logger for every statement it runs: formatting those, for lines
// never written, was 15% of the embedded stack's CPU under load.
func QuietLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(&lazyHandler{
		base:  slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}),
		level: level,
	})
}

// lazyHandler records WithAttrs and WithGroup calls and applies them to base only when a
// record is handled.
type lazyHandler struct {
	base  slog.Handler
	level slog.Level
	with  []func(slog.Handler) slog.Handler // in the order they were made
}

func (h *lazyHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lazyHandler) Handle(ctx context.Context, r slog.Record) error {
	base := h.base
	for _, w := range h.with {
		base = w(base)
	}
	return base.Handle(ctx, r)
}

func (h *lazyHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.and(func(b slog.Handler) slog.Handler { return b.WithAttrs(attrs) })
}

func (h *lazyHandler) WithGroup(name string) slog.Handler {
	return h.and(func(b slog.Handler) slog.Handler { return b.WithGroup(name) })
}

func (h *lazyHandler) and(w func(slog.Handler) slog.Handler) slog.Handler {
	with := make([]func(slog.Handler) slog.Handler, len(h.with), len(h.with)+1)
	copy(with, h.with)
	return &lazyHandler{base: h.base, level: h.level, with: append(with, w)}
}
