package manifest_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	invopop "github.com/invopop/jsonschema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/tagprune/tagprune/manifest"
)

var update = flag.Bool("update", false, "rewrite manifest.schema.json and the FuzzLoad seed corpus")

const schemaFile = "manifest.schema.json"

// schemaExpressible lists the invalid fixtures whose problem a JSON Schema
// can express; the others (duplicate names, bad globs, YAML syntax, "..",
// searchQuery syntax, size, encoding) only Load catches.
var schemaExpressible = []string{
	"unknown-key.yaml",
	"misspelled-key.yaml",
	"wrong-version.yaml",
	"missing-version.yaml",
	"version-as-string.yaml",
	"empty-rules.yaml",
	"missing-rules.yaml",
	"missing-name.yaml",
	"blank-name.yaml",
	"empty-forbidden-tags.yaml",
	"empty-string-tag.yaml",
	"relative-path.yaml",
	"no-paths-nor-fileids.yaml",
	"empty-fileids.yaml",
	"fileid-with-quote.yaml",
	"null-paths.yaml",
	"null-tag-entry.yaml",
	"scalar-instead-of-list.yaml",
	"exclude-unknown-key.yaml",
	"empty-exclude.yaml",
	"blank-search-query.yaml",
	"top-level-list.yaml",
	"several-problems.yaml",
	"no-policy.yaml",
	"empty-allowed-tags.yaml",
	"empty-string-allowed-tag.yaml",
	"empty-replace-tags.yaml",
	"replace-tags-as-list.yaml",
	"replace-without-new.yaml",
	"replace-glob.yaml",
}

// generateSchema reflects the document types into the manifest's JSON
// Schema, adding what struct tags cannot say.
func generateSchema(t *testing.T) []byte {
	t.Helper()
	r := &invopop.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		DoNotReference:             true,
	}
	s := r.Reflect(&manifest.DocumentForSchema{})
	s.ID = manifest.SchemaID
	s.Title = "tagprune manifest"
	s.Description = "Which tags must not appear on which files of an ImageKit media library."
	prop := func(s *invopop.Schema, name string) *invopop.Schema {
		p, ok := s.Properties.Get(name)
		require.True(t, ok, "the schema has no property %q", name)
		return p
	}
	one := uint64(1)
	prop(s, "version").Const = manifest.SupportedVersion
	rule := prop(s, "rules").Items
	prop(prop(rule, "files"), "exclude").MinProperties = &one
	replace := prop(rule, "replaceTags")
	replace.MinProperties = &one
	replace.PropertyNames = &invopop.Schema{MinLength: &one, Pattern: `^[^*?\[]+$`}
	replace.AdditionalProperties = &invopop.Schema{Type: "string", MinLength: &one, Pattern: `^[^*?\[]+$`}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(s))
	return b.Bytes()
}

// TestSchemaIsCurrent checks that the committed manifest.schema.json, which
// the binary embeds, is what the document types generate; with -update it
// rewrites the file.
func TestSchemaIsCurrent(t *testing.T) {
	got := generateSchema(t)
	if *update {
		require.NoError(t, os.WriteFile(schemaFile, got, 0o644))
	}
	want, err := os.ReadFile(schemaFile)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "manifest.schema.json is stale; run go test ./manifest -update")
	assert.Equal(t, want, manifest.Schema(), "Schema returns the committed file")
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(manifest.Schema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource(manifest.SchemaID, doc))
	s, err := c.Compile(manifest.SchemaID)
	require.NoError(t, err)
	return s
}

// yamlInstance reads a YAML file as the JSON value a schema validates.
func yamlInstance(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var v any
	require.NoError(t, yaml.Unmarshal(data, &v), path)
	j, err := json.Marshal(v)
	require.NoError(t, err, path)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	require.NoError(t, err)
	return inst
}

func TestSchemaAcceptsValidManifests(t *testing.T) {
	s := compileSchema(t)
	files, err := filepath.Glob("testdata/valid/*")
	require.NoError(t, err)
	files = append(files, "../examples/manifest.yaml")
	require.Greater(t, len(files), 2)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			assert.NoError(t, s.Validate(yamlInstance(t, f)))
			_, err := manifest.Load(ctx, f)
			assert.NoError(t, err, "the file must be valid for Load too")
		})
	}
}

func TestSchemaRejectsInvalidManifests(t *testing.T) {
	s := compileSchema(t)
	for _, name := range schemaExpressible {
		t.Run(name, func(t *testing.T) {
			assert.Error(t, s.Validate(yamlInstance(t, filepath.Join(invalidDir, name))))
		})
	}
}

func TestSchemaConstraints(t *testing.T) {
	var s map[string]any
	require.NoError(t, json.Unmarshal(manifest.Schema(), &s))
	assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", s["$schema"])
	assert.Equal(t, manifest.SchemaID, s["$id"])
	assert.Equal(t, false, s["additionalProperties"])
	props := s["properties"].(map[string]any)
	assert.Equal(t, 1.0, props["version"].(map[string]any)["const"])
	assert.Equal(t, 1.0, props["rules"].(map[string]any)["minItems"])
}

// TestUpdateFuzzCorpus writes every fixture as a FuzzLoad seed when run with -update.
func TestUpdateFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the FuzzLoad seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	var files []string
	for _, pattern := range []string{"testdata/valid/*", "testdata/invalid/*.yaml", "testdata/invalid/*/*.yaml", "../examples/manifest.yaml"} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		seed := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
		out := filepath.Join(dir, filepath.Base(filepath.Dir(f))+"-"+filepath.Base(f))
		require.NoError(t, os.WriteFile(out, []byte(seed), 0o644))
	}
}
