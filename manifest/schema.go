package manifest

import (
	"bytes"
	"encoding/json"

	"github.com/invopop/jsonschema"
)

// SchemaID is the $id of the manifest's JSON Schema.
const SchemaID = "https://github.com/tagprune/tagprune/raw/main/manifest/manifest.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of a manifest, generated
// from the types the loader decodes into. It does not express every check of
// Load (unique names, globs, path segments), only the shape of the file.
func Schema() []byte {
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		DoNotReference:             true,
	}
	s := r.Reflect(&manifestDoc{})
	s.ID = SchemaID
	s.Title = "tagprune manifest"
	s.Description = "Which tags must not appear on which files of an ImageKit media library."
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		panic("manifest: cannot marshal the JSON Schema: " + err.Error()) // the types are static
	}
	return b.Bytes()
}
