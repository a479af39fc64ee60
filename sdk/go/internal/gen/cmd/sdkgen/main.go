// Command sdkgen writes the SDK's generated files from the API's OpenAPI
// document: sdkgen <openapi.json> <output dir>.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"convoy/sdk/go/internal/gen"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sdkgen <openapi.json> <output dir>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "sdkgen:", err)
		os.Exit(1)
	}
}

func run(spec, dir string) error {
	doc, err := os.ReadFile(spec)
	if err != nil {
		return err
	}
	types, ops, err := gen.Generate(doc)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "types_gen.go"), types, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "operations_gen.go"), ops, 0o644)
}
