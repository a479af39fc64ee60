// Package catalog compiles the JSON Schemas of a group's event-type catalog
// and checks payloads against them, saying where (a JSON pointer) and why a
// payload fails.
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is a compiled event-type schema.
type Schema struct {
	s *jsonschema.Schema
}

// noLoader refuses every $ref outside the schema itself: a schema is a
// tenant's input, and must not read the service's files or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas may not load %s: only references inside the schema are allowed", url)
}

// resource names the schema inside its compiler; $ref "#/..." resolves in it.
const resource = "urn:convoy:event-type-schema"

// Compile compiles a JSON Schema; without a "$schema" it is read as draft
// 2020-12. The error says why a schema does not compile.
func Compile(schema []byte) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	if err := c.AddResource(resource, doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	s, err := c.Compile(resource)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), resource, "schema"))
	}
	return &Schema{s: s}, nil
}

// Violation is why a payload fails its schema: Pointer is the JSON pointer
// of the failing value ("" for the whole payload), Reason what is wrong.
type Violation struct {
	Pointer string
	Reason  string
}

func (v *Violation) Error() string {
	p := v.Pointer
	if p == "" {
		p = "/"
	}
	return fmt.Sprintf("at %s: %s", p, v.Reason)
}

// Validate checks a JSON payload. A failure is a *Violation, the first
// (deepest) one the validator reports.
func (s *Schema) Validate(data []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return &Violation{Reason: "not valid JSON"}
	}
	err = s.s.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := errors.AsType[*jsonschema.ValidationError](err)
	if !ok {
		return &Violation{Reason: err.Error()}
	}
	out := ve.BasicOutput()
	for _, u := range out.Errors {
		if u.Error != nil {
			return &Violation{Pointer: u.InstanceLocation, Reason: u.Error.String()}
		}
	}
	return &Violation{Pointer: "/" + strings.Join(ve.InstanceLocation, "/"), Reason: ve.ErrorKind.LocalizedString(nil)}
}
