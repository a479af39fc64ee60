// Package filter is Convoy's payload filter language: a JSON document of
// dotted paths and MongoDB-style operators that an event's body (or custom
// headers) must match for an endpoint to receive it. A filter is compiled
// once, when it is set, and evaluated many times against payloads decoded
// once per event.
package filter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Filter is a compiled endpoint filter: a body part and a headers part,
// both of which must match. The zero value matches everything.
type Filter struct {
	body    *Expr
	headers *Expr
}

// Error says where a filter is wrong: Path is dotted from the filter's
// root ("body.amount"), Reason what is wrong there.
type Error struct {
	Path   string
	Reason string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Parse compiles an endpoint filter, `{"body": {...}, "headers": {...}}`;
// either part may be absent. Empty input or `null` is the filter that
// matches everything.
func Parse(data []byte) (*Filter, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return &Filter{}, nil
	}
	var parts map[string]json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		return nil, &Error{Reason: "must be a JSON object with body and headers"}
	}
	f := &Filter{}
	for k, raw := range parts {
		switch k {
		case "body":
			e, err := compileRaw("body", raw, false)
			if err != nil {
				return nil, err
			}
			f.body = e
		case "headers":
			e, err := compileRaw("headers", raw, true)
			if err != nil {
				return nil, err
			}
			f.headers = e
		default:
			return nil, &Error{Path: k, Reason: "unknown part; a filter has body and headers"}
		}
	}
	return f, nil
}

// Empty reports whether f matches every event without looking at it.
func (f *Filter) Empty() bool { return f == nil || (f.body.empty() && f.headers.empty()) }

// NeedsBody reports whether f reads the body, so that a caller can skip
// decoding it when no filter does.
func (f *Filter) NeedsBody() bool { return f != nil && !f.body.empty() }

// Match evaluates f against a body decoded by Decode and custom headers
// made by Headers.
func (f *Filter) Match(body any, headers map[string]any) bool {
	if f == nil {
		return true
	}
	return f.body.Match(body) && f.headers.Match(headers)
}

// Decode parses a JSON payload into the form Match reads. Numbers are
// float64, as the comparisons need them.
func Decode(data []byte) (any, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return v, nil
}

// Headers turns an event's custom headers into the document a headers
// filter reads; names are canonical, as HTTP header names are
// case-insensitive.
func Headers(h map[string]string) map[string]any {
	out := make(map[string]any, len(h))
	for k, v := range h {
		out[http.CanonicalHeaderKey(k)] = v
	}
	return out
}

// Expr is one compiled filter document: every condition must hold.
type Expr struct {
	conds []cond
}

func (e *Expr) empty() bool { return e == nil || len(e.conds) == 0 }

// Match reports whether the decoded document doc satisfies e.
func (e *Expr) Match(doc any) bool {
	if e == nil {
		return true
	}
	for i := range e.conds {
		if !e.conds[i].match(doc) {
			return false
		}
	}
	return true
}

func compileRaw(prefix string, raw json.RawMessage, headers bool) (*Expr, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	var doc any
	if err := d.Decode(&doc); err != nil {
		return nil, &Error{Path: prefix, Reason: "must be a JSON object"}
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, &Error{Path: prefix, Reason: "must be a JSON object"}
	}
	return compileDoc(prefix, m, headers)
}

type opKind int

const (
	opEq opKind = iota
	opNeq
	opGt
	opGte
	opLt
	opLte
	opIn
	opNin
	opExist
	opRegex
	opOr
	opAnd
)

var operators = map[string]opKind{
	"$eq": opEq, "$neq": opNeq, "$gt": opGt, "$gte": opGte, "$lt": opLt, "$lte": opLte,
	"$in": opIn, "$nin": opNin, "$exist": opExist, "$regex": opRegex, "$or": opOr, "$and": opAnd,
}

// cond is one condition: an operator applied to the values at a path, or
// (for $or/$and) to sub-documents.
type cond struct {
	path  []string
	op    opKind
	value any
	set   []any
	exist bool
	re    *regexp.Regexp
	subs  []*Expr
}

func compileDoc(prefix string, doc map[string]any, headers bool) (*Expr, error) {
	e := &Expr{}
	if err := flatten(e, prefix, nil, doc, headers); err != nil {
		return nil, err
	}
	// A stable order keeps evaluation (and its cost) the same every time.
	sort.SliceStable(e.conds, func(i, j int) bool { return e.conds[i].op < e.conds[j].op })
	return e, nil
}

func join(prefix string, path []string) string {
	if len(path) == 0 {
		return prefix
	}
	if prefix == "" {
		return strings.Join(path, ".")
	}
	return prefix + "." + strings.Join(path, ".")
}

// flatten adds the conditions of doc, found under path, to e. Nested
// objects without operators are paths ({"a": {"b": 1}} is "a.b": 1), as in
// Convoy.
func flatten(e *Expr, prefix string, path []string, doc map[string]any, headers bool) error {
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := doc[k]
		if strings.HasPrefix(k, "$") {
			op, ok := operators[k]
			if !ok {
				return &Error{Path: join(prefix, path), Reason: fmt.Sprintf("unknown operator %q", k)}
			}
			if op == opOr || op == opAnd {
				if len(path) > 0 {
					return &Error{Path: join(prefix, path), Reason: fmt.Sprintf("%s applies to filter documents, not to a field", k)}
				}
				c, err := compileLogical(join(prefix, path)+"."+k, op, v, headers)
				if err != nil {
					return err
				}
				e.conds = append(e.conds, c)
				continue
			}
			if len(path) == 0 {
				return &Error{Path: join(prefix, []string{k}), Reason: fmt.Sprintf("operator %q needs a field", k)}
			}
			c, err := compileOp(join(prefix, path), path, k, op, v)
			if err != nil {
				return err
			}
			e.conds = append(e.conds, c)
			continue
		}
		segs := strings.Split(k, ".")
		for _, s := range segs {
			if s == "" {
				return &Error{Path: join(prefix, append(path, k)), Reason: "empty path segment"}
			}
		}
		if headers && len(path) == 0 {
			segs[0] = http.CanonicalHeaderKey(segs[0])
		}
		sub := append(append([]string{}, path...), segs...)
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			if err := flatten(e, prefix, sub, m, false); err != nil {
				return err
			}
			continue
		}
		e.conds = append(e.conds, cond{path: sub, op: opEq, value: v})
	}
	return nil
}

func compileLogical(where string, op opKind, v any, headers bool) (cond, error) {
	items, ok := v.([]any)
	if !ok || len(items) == 0 {
		return cond{}, &Error{Path: where, Reason: "must be a non-empty array of filter documents"}
	}
	c := cond{op: op}
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return cond{}, &Error{Path: where + "." + strconv.Itoa(i), Reason: "must be a filter document (a JSON object)"}
		}
		sub, err := compileDoc(where+"."+strconv.Itoa(i), m, headers)
		if err != nil {
			return cond{}, err
		}
		c.subs = append(c.subs, sub)
	}
	return c, nil
}

func compileOp(where string, path []string, name string, op opKind, v any) (cond, error) {
	c := cond{path: path, op: op, value: v}
	switch op {
	case opGt, opGte, opLt, opLte:
		switch v.(type) {
		case float64, string:
		default:
			return cond{}, &Error{Path: where, Reason: fmt.Sprintf("%s needs a number or a string", name)}
		}
	case opIn, opNin:
		set, ok := v.([]any)
		if !ok {
			return cond{}, &Error{Path: where, Reason: fmt.Sprintf("%s needs an array", name)}
		}
		c.set = set
	case opExist:
		b, ok := v.(bool)
		if !ok {
			return cond{}, &Error{Path: where, Reason: fmt.Sprintf("%s needs true or false", name)}
		}
		c.exist = b
	case opRegex:
		s, ok := v.(string)
		if !ok {
			return cond{}, &Error{Path: where, Reason: fmt.Sprintf("%s needs a string", name)}
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return cond{}, &Error{Path: where, Reason: fmt.Sprintf("invalid %s %q: %v", name, s, err)}
		}
		c.re = re
	}
	return c, nil
}
