package filter

import "strconv"

// match evaluates one condition against a document.
func (c *cond) match(doc any) bool {
	switch c.op {
	case opOr:
		for _, s := range c.subs {
			if s.Match(doc) {
				return true
			}
		}
		return false
	case opAnd:
		for _, s := range c.subs {
			if !s.Match(doc) {
				return false
			}
		}
		return true
	case opNeq:
		// As MongoDB's $ne: true when no value at the path equals it,
		// a missing field included.
		return !c.visit(doc, c.path, opEq)
	case opNin:
		return !c.visit(doc, c.path, opIn)
	case opExist:
		return c.visit(doc, c.path, opExist) == c.exist
	default:
		return c.visit(doc, c.path, c.op)
	}
}

// visit reports whether some value at path in v satisfies op. Arrays on the
// way are entered element by element unless the segment is an index, as in
// MongoDB ("items.sku" reaches the sku of every item).
func (c *cond) visit(v any, path []string, op opKind) bool {
	if len(path) == 0 {
		return c.leaf(v, op)
	}
	switch t := v.(type) {
	case map[string]any:
		child, ok := t[path[0]]
		if !ok {
			return false
		}
		return c.visit(child, path[1:], op)
	case []any:
		if i, err := strconv.Atoi(path[0]); err == nil {
			if i >= 0 && i < len(t) {
				return c.visit(t[i], path[1:], op)
			}
			return false
		}
		for _, el := range t {
			if _, ok := el.(map[string]any); ok && c.visit(el, path, op) {
				return true
			}
		}
	}
	return false
}

// leaf tests a value reached at the path; an array satisfies the test when
// it does as a whole or one of its elements does.
func (c *cond) leaf(v any, op opKind) bool {
	if op == opExist {
		return true
	}
	if c.test(v, op) {
		return true
	}
	if arr, ok := v.([]any); ok {
		for _, el := range arr {
			if c.test(el, op) {
				return true
			}
		}
	}
	return false
}

func (c *cond) test(v any, op opKind) bool {
	switch op {
	case opEq:
		return equal(v, c.value)
	case opIn:
		for _, s := range c.set {
			if equal(v, s) {
				return true
			}
		}
		return false
	case opRegex:
		s, ok := v.(string)
		return ok && c.re.MatchString(s)
	case opGt, opGte, opLt, opLte:
		n, ok := compare(v, c.value)
		if !ok {
			return false
		}
		switch op {
		case opGt:
			return n > 0
		case opGte:
			return n >= 0
		case opLt:
			return n < 0
		default:
			return n <= 0
		}
	}
	return false
}

// compare orders two numbers or two strings; values of other or different
// types do not compare.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// equal is JSON equality: numbers by value, arrays in order, objects by
// their members.
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}
