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

Every allowlist rule (allowedTags) gets a warning, which does not change the exit
code: it removes every tag it does not name, so a typo in it removes what was meant
to stay. Review its line in the plan, and apply with --max-changes N.

Examples:
  tagprune validate -f tagprune.yaml
  tagprune validate -f manifests/ --format github   # annotations on a pull request`,
		Flags: withGlobal(
			manifestFlag(),
			&urfave.StringFlag{Name: flagFormat, Value: defaultFormat, Usage: "output `FORMAT`: text, or github (::error and ::warning annotations on a pull request)"},
		),
		Action: action(e, parseValidate, runValidate),
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
	warnings := 0
	for i := range rules {
		if len(rules[i].AllowedTags) == 0 {
			continue
		}
		warnings++
		w := allowlistWarning(&rules[i])
		if o.Format == formatGitHub {
			fmt.Fprintln(e.Out, githubCommand("warning", w))
		} else {
			fmt.Fprintf(e.Err, "%s: warning: %s\n", w.Pos, w.Msg)
		}
	}
	ok := fmt.Sprintf("Manifest OK: %s in %s", english.Plural(len(rules), "rule", "rules"), strings.Join(o.Manifests, ", "))
	if warnings > 0 {
		ok += " (" + english.Plural(warnings, "warning", "warnings") + ")"
	}
	fmt.Fprintln(e.Out, ok+".")
	return nil
}

// allowlistWarning says why an allowlist rule deserves a second look: it
// removes every tag it does not name, so a typo in it removes tags that were
// meant to stay, and --max-changes caps what one apply can do.
func allowlistWarning(r *manifest.Rule) *manifest.Error {
	return &manifest.Error{Pos: r.Position(), Rule: r.Name, Msg: fmt.Sprintf(
		"rule %q is an allowlist: it removes every tag that matches none of its allowedTags from the files it selects, "+
			"so a typo there removes tags meant to stay; read the plan's allowlist line before applying, "+
			"and apply with --%s N to cap how many files one run may change", r.Name, flagMaxChanges)}
}

// githubAnnotation formats a manifest error as a GitHub Actions workflow
// command, so the error shows on the pull request's line.
func githubAnnotation(e *manifest.Error) string { return githubCommand("error", e) }

// githubCommand formats a manifest problem as a GitHub Actions workflow
// command of the given level (error or warning), placed on its line.
func githubCommand(level string, e *manifest.Error) string {
	props := "file=" + escapeProperty(e.Pos.File)
	if e.Pos.Line > 0 {
		props += fmt.Sprintf(",line=%d", e.Pos.Line)
	}
	if e.Pos.Col > 0 {
		props += fmt.Sprintf(",col=%d", e.Pos.Col)
	}
	msg := e.Msg
	if e.Rule != "" && level == "error" {
		msg = fmt.Sprintf("rule %q: %s", e.Rule, e.Msg)
	}
	return "::" + level + " " + props + "::" + escapeData(msg)
}

func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
