package sqliteindex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// FerretDB v1 stores each document as "sjson": the document's values as
// plain JSON, and under the key "$s" a schema that gives every value its
// BSON type (which JSON cannot tell apart: an int from a long, a date from
// a long, binary from a string) and every object its key order. decodeSJSON
// turns it back into BSON, so that a document read here decodes into the
// model exactly as one read through FerretDB does (checked against
// FerretDB itself in the tests, for every type the store writes).

// sjsonSchema is the schema of one object: its fields' types, in order.
type sjsonSchema struct {
	Props map[string]*sjsonElem `json:"p"`
	Keys  []string              `json:"$k"`
}

// sjsonElem is the type of one value.
type sjsonElem struct {
	Type    string       `json:"t"`
	Schema  *sjsonSchema `json:"$s"` // object
	Items   []*sjsonElem `json:"i"`  // array, one per element
	Subtype *byte        `json:"s"`  // binData
	Options *string      `json:"o"`  // regex
}

// decodeSJSON returns the BSON of a FerretDB sjson document, without the
// top-level fields named in omit (as a projection excluding them would).
func decodeSJSON(raw []byte, omit ...string) (bson.Raw, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("sjson: %w", err)
	}
	var sch sjsonSchema
	if s, ok := top["$s"]; ok {
		if err := json.Unmarshal(s, &sch); err != nil {
			return nil, fmt.Errorf("sjson schema: %w", err)
		}
		delete(top, "$s")
	}
	for _, k := range omit {
		if _, ok := top[k]; ok {
			delete(top, k)
			sch.Keys = slices.DeleteFunc(sch.Keys, func(key string) bool { return key == k })
		}
	}
	d, err := sjsonObject(top, &sch)
	if err != nil {
		return nil, err
	}
	return bson.Marshal(d)
}

func sjsonObject(fields map[string]json.RawMessage, sch *sjsonSchema) (bson.D, error) {
	if len(fields) != len(sch.Keys) {
		return nil, fmt.Errorf("sjson: %d fields, %d in the schema", len(fields), len(sch.Keys))
	}
	d := make(bson.D, 0, len(sch.Keys))
	for _, k := range sch.Keys {
		raw, ok := fields[k]
		if !ok {
			return nil, fmt.Errorf("sjson: field %q of the schema is missing", k)
		}
		v, err := sjsonValue(raw, sch.Props[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		d = append(d, bson.E{Key: k, Value: v})
	}
	return d, nil
}

func sjsonValue(raw json.RawMessage, el *sjsonElem) (any, error) {
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if el == nil {
		return nil, errors.New("sjson: value without a type")
	}
	switch el.Type {
	case "object":
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, err
		}
		sch := el.Schema
		if sch == nil {
			sch = &sjsonSchema{}
		}
		return sjsonObject(fields, sch)
	case "array":
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		if len(items) != len(el.Items) {
			return nil, fmt.Errorf("sjson: %d items, %d in the schema", len(items), len(el.Items))
		}
		a := make(bson.A, len(items))
		for i := range items {
			v, err := sjsonValue(items[i], el.Items[i])
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			a[i] = v
		}
		return a, nil
	case "string":
		return decodeAs[string](raw)
	case "bool":
		return decodeAs[bool](raw)
	case "int":
		return decodeAs[int32](raw)
	case "long":
		return decodeAs[int64](raw)
	case "double":
		return decodeAs[float64](raw)
	case "date":
		ms, err := decodeAs[int64](raw)
		return bson.DateTime(ms), err
	case "binData":
		b, err := decodeAs[[]byte](raw) // base64, as encoding/json writes []byte
		sub := byte(0)
		if el.Subtype != nil {
			sub = *el.Subtype
		}
		return bson.Binary{Subtype: sub, Data: b}, err
	case "objectId":
		s, err := decodeAs[string](raw)
		if err != nil {
			return nil, err
		}
		return bson.ObjectIDFromHex(s)
	case "timestamp":
		u, err := decodeAs[uint64](raw)
		return bson.Timestamp{T: uint32(u >> 32), I: uint32(u)}, err
	}
	return nil, fmt.Errorf("sjson: type %q is not read here", el.Type)
}

func decodeAs[T any](raw json.RawMessage) (T, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}
