package cli

import (
	"context"
	"fmt"
	"strings"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/manifest"
)

// Output formats of --format.
const (
	formatText     = "text"
	formatGitHub   = "github"
	formatJSON     = "json"
	formatMarkdown = "markdown"
)

// validateOptions are the flags of tagprune validate.
type validateOptions struct {
	Manifests []string
	Format    string // formatText or formatGitHub
}

func validateCommand(e *env) *urfave.Command {
	return &urfave.Command{
		Name:      "validate",
		Usage:     "check manifests; reads no library and sends no request",
		UsageText: "tagprune validate -f PATH... [--format text|github]",
		Description: `Loads every manifest and reports every problem at once, each with its
file:line:col. Exit 0 when the manifests are valid, 1 otherwise.

Examples:
  tagprune validate -f tagprune.yaml
  tagprune validate -f manifests/ --format github   # annotations on a pull request`,
		Flags: withGlobal(
			manifestFlag(),
			&urfave.StringFlag{Name: flagFormat, Value: defaultFormat, Usage: "error format: text, or github (::error annotations)"},
		),
		Action: func(c *urfave.Context) error {
			o, err := parseValidate(c)
			if err != nil {
				return err
			}
			return runValidate(c.Context, e, o)
		},
	}
}

func parseValidate(c *urfave.Context) (*validateOptions, error) {
	o := &validateOptions{Manifests: c.StringSlice(flagManifest), Format: c.String(flagFormat)}
	if err := requireManifest(c.Command.Name, o.Manifests); err != nil {
		return nil, err
	}
	if o.Format != formatText && o.Format != formatGitHub {
		return nil, fmt.Errorf("--%s %q: want text or github", flagFormat, o.Format)
	}
	return o, nil
}

func runValidate(ctx context.Context, e *env, o *validateOptions) error {
	rules, err := loadManifests(ctx, e, o.Manifests, o.Format)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "Manifest OK: %s in %s.\n",
		english.Plural(len(rules), "rule", "rules"), strings.Join(o.Manifests, ", "))
	return nil
}

// githubAnnotation formats a manifest error as a GitHub Actions workflow
// command, so the error shows on the pull request's line.
func githubAnnotation(e *manifest.Error) string {
	props := "file=" + escapeProperty(e.Pos.File)
	if e.Pos.Line > 0 {
		props += fmt.Sprintf(",line=%d", e.Pos.Line)
	}
	if e.Pos.Col > 0 {
		props += fmt.Sprintf(",col=%d", e.Pos.Col)
	}
	msg := e.Msg
	if e.Rule != "" {
		msg = fmt.Sprintf("rule %q: %s", e.Rule, e.Msg)
	}
	return "::error " + props + "::" + escapeData(msg)
}

func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
