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
	"strconv"
	"strings"
)

// decodeBody reads the (already size-capped) body into dst, a pointer to
// a struct. An empty body decodes as {} so that missing required fields are
// reported by ingest-service like any other missing field. A field dst does
// not declare, at any depth, is refused by its full path: a client must
// never believe a setting took effect when it was dropped.
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	switch {
	case err != nil && strings.HasPrefix(err.Error(), "json: unknown field "):
		// The decoder names only the first unknown key, without its path.
		if names := unknownFields(body, reflect.TypeOf(dst), ""); len(names) > 0 {
			return badRequest("%s %s", plural2(len(names), "unknown field"), quoteAll(names))
		}
		return badRequest("%s", strings.TrimPrefix(err.Error(), "json: "))
	case err != nil:
		// Unmarshal's errors carry the offsets and field paths the messages
		// use; the decoder reports truncation as a bare io.ErrUnexpectedEOF.
		if uerr := json.Unmarshal(body, dst); uerr != nil {
			err = uerr
		}
		return describeJSONError(body, dst, err)
	case len(bytes.TrimSpace(body[dec.InputOffset():])) > 0:
		// Unmarshal reports trailing data as a syntax error with its offset.
		return describeJSONError(body, dst, json.Unmarshal(body, dst))
	}
	return nil
}

// unknownFields lists, by dotted path, every object key in raw that type t
// does not declare, matching names as encoding/json does (exact, then case
// folded). Values the type keeps raw (json.RawMessage, any) are not looked
// into.
func unknownFields(raw []byte, t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil // not an object: the type error is reported instead
		}
		fields := jsonFields(t)
		var out []string
		for _, key := range sortedKeys(obj) {
			ft, ok := fields[key]
			if !ok {
				for name, f := range fields {
					if strings.EqualFold(name, key) {
						ft, ok = f, true
						break
					}
				}
			}
			if !ok {
				out = append(out, prefix+key)
				continue
			}
			out = append(out, unknownFields(obj[key], ft, prefix+key+".")...)
		}
		return out
	case reflect.Slice, reflect.Array:
		if t == reflect.TypeFor[json.RawMessage]() {
			return nil
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		var out []string
		for i, it := range items {
			out = append(out, unknownFields(it, t.Elem(), strings.TrimSuffix(prefix, ".")+"["+strconv.Itoa(i)+"].")...)
		}
		return out
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		var out []string
		for _, key := range sortedKeys(obj) {
			out = append(out, unknownFields(obj[key], t.Elem(), prefix+key+".")...)
		}
		return out
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields to their types,
// promoting the fields of embedded structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for name, typ := range jsonFields(ft) {
					if _, shadowed := out[name]; !shadowed {
						out[name] = typ
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out[tag] = f.Type
	}
	return out
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
	te.Field = jsonPath(reflect.TypeOf(dst), te.Field)
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
		fields := jsonFields(t)
		found, ok := fields[name]
		if !ok {
			for n, f := range fields {
				if strings.EqualFold(n, name) {
					found, ok = f, true
					break
				}
			}
		}
		if !ok {
			return nil
		}
		t = found
	}
	return t
}

// jsonPath drops from a decoder's field path the Go names of embedded
// structs, which encoding/json includes but callers never wrote.
func jsonPath(t reflect.Type, path string) string {
	var out []string
	for name := range strings.SplitSeq(path, ".") {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			out = append(out, name)
			t = nil
			continue
		}
		if f, ok := t.FieldByName(name); ok && f.Anonymous {
			if _, isJSON := jsonFields(t)[name]; !isJSON {
				t = f.Type
				continue
			}
		}
		out = append(out, name)
		t = fieldType(t, name)
	}
	return strings.Join(out, ".")
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
