// Package console serves the web console: the operator dashboard at /ui/
// and the per-application portal at /ui/portal. It is static files only;
// the pages call the public HTTP API with the signed-in key, so everything
// the console does can be done with curl.
package console

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
)

//go:embed static
var files embed.FS

// Options tune the handler.
type Options struct {
	// FrameAncestors, when set, answers the CSP frame-ancestors sources
	// for a portal token: the sites allowed to embed that link's portal.
	// An error or an empty answer keeps the default, 'self'.
	FrameAncestors func(ctx context.Context, token string) (string, error)
}

const defaultFrameAncestors = "'self'"

// policy is the Content-Security-Policy of every console answer but for
// frame-ancestors: only the console's own scripts, styles and API.
const policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "

// sourceList is what a frame-ancestors answer may hold: space-separated
// sources without the characters that would end the directive or the
// header.
var sourceList = regexp.MustCompile(`^[A-Za-z0-9'*:/._\- ]+$`)

// Handler serves /ui, /ui/, /ui/portal and the assets under /ui/.
type Handler struct {
	opts   Options
	assets http.Handler
	index  []byte
}

// New builds the handler.
func New(opts Options) *Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	return &Handler{opts: opts, assets: http.StripPrefix("/ui/", http.FileServerFS(sub)), index: index}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	// The portal's URL carries its token: no page may learn it from a
	// Referer.
	hdr.Set("Referrer-Policy", "no-referrer")
	switch r.URL.Path {
	case "/ui":
		http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
	case "/ui/", "/ui/index.html":
		h.page(w, defaultFrameAncestors)
	case "/ui/portal":
		h.page(w, h.frameAncestors(r))
	default:
		hdr.Set("Content-Security-Policy", policy+defaultFrameAncestors)
		// Assets change with the binary; revalidating keeps a deploy's
		// console consistent.
		hdr.Set("Cache-Control", "no-cache")
		h.assets.ServeHTTP(w, r)
	}
}

// page writes the single page the hash router runs in.
func (h *Handler) page(w http.ResponseWriter, ancestors string) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", policy+ancestors)
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	_, _ = w.Write(h.index)
}

// frameAncestors asks the hook for the portal token's embedding sites,
// keeping 'self' when there is no hook, no token, an error or an answer
// that is not a plain source list.
func (h *Handler) frameAncestors(r *http.Request) string {
	token := r.URL.Query().Get("token")
	if h.opts.FrameAncestors == nil || token == "" {
		return defaultFrameAncestors
	}
	v, err := h.opts.FrameAncestors(r.Context(), token)
	v = strings.TrimSpace(v)
	if err != nil || v == "" || !sourceList.MatchString(v) {
		return defaultFrameAncestors
	}
	return v
}
