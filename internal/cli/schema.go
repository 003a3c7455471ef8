package cli

import (
	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/manifest"
)

func schemaCommand(e *env) *urfave.Command {
	return &urfave.Command{
		Name:      "schema",
		Usage:     "print the JSON Schema of the manifest format (for editor completion)",
		UsageText: "tagprune schema > tagprune.schema.json",
		Description: `Prints the JSON Schema (draft 2020-12) of the manifest format, as built into
this binary. Save it next to your manifests and name it on a manifest's first line,
so that editors with the YAML language server complete and check keys:
  # yaml-language-server: $schema=./tagprune.schema.json

Examples:
  tagprune schema > tagprune.schema.json`,
		Flags: withGlobal(),
		Action: func(*urfave.Context) error {
			return runSchema(e)
		},
	}
}

// runSchema prints the manifest's JSON Schema; it has no options.
func runSchema(e *env) error {
	_, err := e.Out.Write(manifest.Schema())
	return err
}
