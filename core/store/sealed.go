package store

import (
	"fmt"
	"reflect"
	"slices"

	"convoy/core/model"
	"convoy/core/secretbox"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// sealedDocs is every secret the store keeps encrypted at rest, by document
// type: nothing else in the code base seals or opens them. The store's BSON
// codecs seal these strings as a document is written and open them as it is
// read, so every service sees plaintext and the database holds
// `enc:v1:<key id>:…` (see package secretbox).
//
// To encrypt another field: add its string(s) to the type's fields function
// (giving the value its own copy of any slice it points into, since the
// encoder seals a copy of the caller's value) and its BSON path to paths,
// which is what a key rotation rewrites (a path may hold several sealed
// strings, as "secrets" does). A new document type needs a new entry; the
// rotation pass walks this list.
var sealedDocs = []sealedDoc{
	sealedType(collEndpoints, []string{"secrets", "signing_key", "authentication"},
		func(e *model.Endpoint) string { return e.UID },
		func(e *model.Endpoint) []*string {
			e.Secrets = slices.Clone(e.Secrets)
			out := make([]*string, 0, len(e.Secrets)+2)
			for i := range e.Secrets {
				out = append(out, &e.Secrets[i].Value)
			}
			out = append(out, &e.SigningKey)
			return append(out, authenticationSecrets(e)...)
		}),
	sealedType(collApplications, []string{"secret"},
		func(a *model.Application) string { return a.UID },
		func(a *model.Application) []*string { return []*string{&a.Secret} }),
	sealedType(collGroups, []string{"config.meta_event.secret"},
		func(g *model.Group) string { return g.UID },
		func(g *model.Group) []*string { return []*string{&g.Config.MetaEvent.Secret} }),
}

// authenticationSecrets returns the credentials of e's authentication, on
// copies of its structs owned by e (they are pointers, shared with the
// caller's value otherwise).
func authenticationSecrets(e *model.Endpoint) []*string {
	if e.Authentication == nil {
		return nil
	}
	a := *e.Authentication
	e.Authentication = &a
	var out []*string
	if a.APIKey != nil {
		k := *a.APIKey
		a.APIKey = &k
		out = append(out, &k.HeaderValue)
	}
	if a.Basic != nil {
		b := *a.Basic
		a.Basic = &b
		out = append(out, &b.Password)
	}
	if a.OAuth2 != nil {
		o := *a.OAuth2
		a.OAuth2 = &o
		out = append(out, &o.ClientSecret)
	}
	if a.MTLS != nil {
		m := *a.MTLS
		a.MTLS = &m
		out = append(out, &m.ClientKey)
	}
	return out
}

// sealedDoc describes one document type with encrypted fields.
type sealedDoc struct {
	coll string
	typ  reflect.Type
	// paths are the BSON paths (dotted) that hold its sealed values.
	paths []string
	// id returns the document's id (the values' additional data) and
	// fields pointers to its sealed strings, of a *T passed as any.
	id     func(any) string
	fields func(any) []*string
}

func sealedType[T any](coll string, paths []string, id func(*T) string, fields func(*T) []*string) sealedDoc {
	return sealedDoc{
		coll: coll, typ: reflect.TypeFor[T](), paths: paths,
		id:     func(v any) string { return id(v.(*T)) },
		fields: func(v any) []*string { return fields(v.(*T)) },
	}
}

// plainRegistry has the driver's default codecs only: it reads and writes
// the sealed types as they are stored, without sealing or opening.
var plainRegistry = bson.NewRegistry()

// newRegistry returns the driver's default registry with a sealing codec for
// each of sealedDocs, under kr (nil: write plaintext, and refuse to read a
// sealed value).
func newRegistry(kr *secretbox.Keyring) *bson.Registry {
	reg := bson.NewRegistry()
	for _, d := range sealedDocs {
		enc, err := plainRegistry.LookupEncoder(d.typ)
		if err != nil {
			panic(err) // the model's types are structs the driver encodes
		}
		dec, err := plainRegistry.LookupDecoder(d.typ)
		if err != nil {
			panic(err)
		}
		c := &sealingCodec{doc: d, kr: kr, plainEnc: enc, plainDec: dec}
		reg.RegisterTypeEncoder(d.typ, c)
		reg.RegisterTypeDecoder(d.typ, c)
	}
	return reg
}

// sealingCodec encodes a document type with its sealed fields encrypted and
// decodes it with them opened.
type sealingCodec struct {
	doc      sealedDoc
	kr       *secretbox.Keyring
	plainEnc bson.ValueEncoder
	plainDec bson.ValueDecoder
}

func (c *sealingCodec) EncodeValue(ec bson.EncodeContext, vw bson.ValueWriter, val reflect.Value) error {
	cp := reflect.New(c.doc.typ)
	cp.Elem().Set(val)
	v := cp.Interface()
	id := c.doc.id(v)
	for _, f := range c.doc.fields(v) {
		sealed, err := c.kr.Seal(*f, id)
		if err != nil {
			return fmt.Errorf("seal %s %s: %w", c.doc.coll, id, err)
		}
		*f = sealed
	}
	return c.plainEnc.EncodeValue(ec, vw, cp.Elem())
}

func (c *sealingCodec) DecodeValue(dc bson.DecodeContext, vr bson.ValueReader, val reflect.Value) error {
	out := reflect.New(c.doc.typ)
	if err := c.plainDec.DecodeValue(dc, vr, out.Elem()); err != nil {
		return err
	}
	v := out.Interface()
	id := c.doc.id(v)
	for _, f := range c.doc.fields(v) {
		plain, err := c.kr.Open(*f, id)
		if err != nil {
			return fmt.Errorf("open %s %s: %w", c.doc.coll, id, err)
		}
		*f = plain
	}
	val.Set(out.Elem())
	return nil
}

// needsReseal reports whether raw (the document, or only its sealed
// paths) holds a secret that is not sealed with activeKeyID: plaintext, or
// sealed with another key. bson.Unmarshal uses the driver's default
// registry, which reads the values as stored; a raw that does not decode
// needs a closer look too.
func (d sealedDoc) needsReseal(raw bson.Raw, activeKeyID string) bool {
	v := reflect.New(d.typ).Interface()
	if err := bson.Unmarshal(raw, v); err != nil {
		return true
	}
	for _, f := range d.fields(v) {
		if *f != "" && secretbox.KeyID(*f) != activeKeyID {
			return true
		}
	}
	return false
}
