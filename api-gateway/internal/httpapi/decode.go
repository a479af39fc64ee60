package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"
)

// decodeBody reads the (already size-capped) body into dst, a pointer to
// a struct. An empty body decodes as {} so that missing required fields are
// reported by ingest-service like any other missing field. Unknown fields
// are ignored, as Convoy clients may send fields this API does not model.
func (a *API) decodeBody(r *http.Request, dst any) error {
	if r.ContentLength > a.opts.MaxBodyBytes {
		return a.tooLarge()
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return a.tooLarge()
		}
		return badRequest("read request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return describeJSONError(body, dst, err)
	}
	return nil
}

func (a *API) tooLarge() error {
	return &httpError{
		status:  http.StatusRequestEntityTooLarge,
		message: fmt.Sprintf("request body must not exceed %d bytes", a.opts.MaxBodyBytes),
	}
}

// describeJSONError turns encoding/json errors into messages that say
// where the input went wrong, in the caller's terms.
func describeJSONError(body []byte, dst any, err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		line, col := position(body, se.Offset)
		return badRequest("malformed JSON at line %d, column %d (byte %d): %s", line, col, se.Offset, se.Error())
	}
	te, ok := errors.AsType[*json.UnmarshalTypeError](err)
	if !ok {
		return badRequest("malformed JSON: %v", err)
	}
	if te.Field == "" {
		return badRequest("request body must be a JSON object")
	}
	declared := fieldType(reflect.TypeOf(dst), te.Field)
	if declared != nil {
		for declared.Kind() == reflect.Pointer {
			declared = declared.Elem()
		}
		switch declared.Kind() {
		case reflect.Slice:
			if te.Type == declared.Elem() {
				return badRequest("%s must be an array of %s", te.Field, plural(te.Type))
			}
		case reflect.Map:
			if te.Type == declared.Elem() {
				return badRequest("%s must be an object whose values are %s", te.Field, plural(te.Type))
			}
		}
	}
	if isInteger(te.Type) && strings.HasPrefix(te.Value, "number") {
		lo, hi := intRange(te.Type)
		return badRequest("%s must be an integer between %d and %d", te.Field, lo, hi)
	}
	return badRequest("%s must be %s", te.Field, jsonKind(te.Type))
}

// position returns the 1-based line and column of the byte at which the
// decoder stopped (offset counts the bytes read, so the culprit is the last).
func position(body []byte, offset int64) (line, col int) {
	end := int(min(max(offset, 1), int64(len(body))))
	prefix := body[:end]
	line = 1 + bytes.Count(prefix[:end-1], []byte("\n"))
	col = end - bytes.LastIndexByte(prefix[:end-1], '\n') - 1
	return line, col
}

// fieldType follows a dotted JSON field path (as in UnmarshalTypeError)
// through struct types and returns the declared Go type, or nil.
func fieldType(t reflect.Type, path string) reflect.Type {
	for name := range strings.SplitSeq(path, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		var found reflect.Type
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == name || (tag == "" && strings.EqualFold(f.Name, name)) {
				found = f.Type
				break
			}
		}
		if found == nil {
			return nil
		}
		t = found
	}
	return t
}

func isInteger(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func intRange(t reflect.Type) (lo, hi int64) {
	switch t.Kind() {
	case reflect.Int8:
		return math.MinInt8, math.MaxInt8
	case reflect.Int16:
		return math.MinInt16, math.MaxInt16
	case reflect.Int32:
		return math.MinInt32, math.MaxInt32
	case reflect.Uint8:
		return 0, math.MaxUint8
	case reflect.Uint16:
		return 0, math.MaxUint16
	case reflect.Uint32:
		return 0, math.MaxUint32
	case reflect.Uint, reflect.Uint64:
		return 0, math.MaxInt64
	default:
		return math.MinInt64, math.MaxInt64
	}
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case isInteger(t), t.Kind() == reflect.Float32, t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "a boolean"
	case t.Kind() == reflect.Slice, t.Kind() == reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

func plural(t reflect.Type) string {
	switch k := jsonKind(t); k {
	case "an array":
		return "arrays"
	case "an object":
		return "objects"
	default:
		return strings.TrimPrefix(k, "a ") + "s"
	}
}
