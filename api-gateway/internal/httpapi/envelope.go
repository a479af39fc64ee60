package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// The envelope is assembled by hand rather than with json.Marshal because
// encoding/json compacts and HTML-escapes whatever a json.Marshaler returns,
// which would alter event payloads that must reach clients byte for byte.
// Views holding such bytes implement jsonAppender; everything else goes
// through encoding/json.

// jsonAppender is a view that writes its own JSON.
type jsonAppender interface {
	appendJSON(dst []byte) ([]byte, error)
}

// appendJSON appends the JSON encoding of v to dst.
func appendJSON(dst []byte, v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return a.appendJSON(dst)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// appendRawJSON appends b, which should already be JSON. Bytes that are
// not (never expected from ingest) are sent as a JSON string so the
// response stays parseable; empty bytes become null.
func appendRawJSON(dst, b []byte) []byte {
	switch {
	case len(b) == 0:
		return append(dst, "null"...)
	case json.Valid(b):
		return append(dst, b...)
	default:
		out, _ := appendJSON(dst, string(b))
		return out
	}
}

// encodeEnvelope renders {"status","message","data"}.
func encodeEnvelope(ok bool, message string, data any) ([]byte, error) {
	b := make([]byte, 0, 512)
	b = append(b, `{"status":`...)
	b = strconv.AppendBool(b, ok)
	b = append(b, `,"message":`...)
	b, err := appendJSON(b, message)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"data":`...)
	if b, err = appendJSON(b, data); err != nil {
		return nil, err
	}
	return append(b, '}', '\n'), nil
}

func writeEnvelope(w http.ResponseWriter, status int, ok bool, message string, data any) {
	body, err := encodeEnvelope(ok, message, data)
	if err != nil {
		// Views are plain structs of strings, numbers and maps; this is a bug.
		status = http.StatusInternalServerError
		body, _ = encodeEnvelope(false, msgInternal, nil)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// page is the data of every list answer. Pagination is a paginationView,
// or a dialect's own.
type page[T any] struct {
	Content    []T
	Pagination any
}

type paginationView struct {
	PerPage        int32  `json:"per_page"`
	HasNextPage    bool   `json:"has_next_page"`
	NextPageCursor string `json:"next_page_cursor"`
	// total and page are set for an offset page (Convoy's dialect shows
	// them).
	total int64
	page  int32
}

// appendJSON writes {"content":[...],"pagination":{...}}, letting each item
// write itself when it is a jsonAppender.
func (p page[T]) appendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"content":[`...)
	var err error
	for i, item := range p.Content {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendJSON(dst, item); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `],"pagination":`...)
	if dst, err = appendJSON(dst, p.Pagination); err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}
