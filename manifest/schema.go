package manifest

import (
	"bytes"
	_ "embed"
)

// SchemaID is the $id of the manifest's JSON Schema.
const SchemaID = "https://github.com/tagprune/tagprune/raw/main/manifest/manifest.schema.json"

// schema is the committed JSON Schema. It is generated from the document
// types by TestSchemaIsCurrent (go test ./manifest -update rewrites it), so
// the binary carries no schema generator.
//
//go:embed manifest.schema.json
var schema []byte

// Schema returns the JSON Schema (draft 2020-12) of a manifest. It does not
// express every check of Load (unique names, globs, path segments,
// replaceTags chains), only the shape of the file. The caller may modify
// the returned slice.
func Schema() []byte { return bytes.Clone(schema) }
