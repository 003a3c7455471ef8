package cli

import (
	"fmt"
	"io"
	"strings"

	urfave "github.com/urfave/cli/v2"
)

// manSection is the manual section of commands for users.
const manSection = "1"

func manCommand(e *env) *urfave.Command {
	return &urfave.Command{
		Name:      "man",
		Usage:     "print the manual page (roff), made from the commands and flags",
		UsageText: "tagprune man > tagprune.1",
		Description: `Prints tagprune's manual page in roff, made from the same definitions as
--help, so it always matches the binary. Install it where man looks for pages.

Examples:
  tagprune man > tagprune.1 && man ./tagprune.1
  mkdir -p ~/.local/share/man/man1 && tagprune man > ~/.local/share/man/man1/tagprune.1
  tagprune man | sudo tee /usr/local/share/man/man1/tagprune.1 > /dev/null`,
		Flags: withGlobal(),
		Action: func(c *urfave.Context) error {
			_, err := io.WriteString(e.Out, manPage(c.App, e.version))
			return err
		},
	}
}

// exitStatuses are the EXIT STATUS section: DESIGN.md's exit codes.
var exitStatuses = []struct {
	code int
	what string
}{
	{exitOK, "success: plan ran (with --detailed-exitcode: no changes); apply left every planned file converged"},
	{exitError, "error; nothing was changed unless the report says otherwise"},
	{exitChanges, "plan --detailed-exitcode found changes to make"},
	{exitIncomplete, "apply finished, but some files could not be changed; the report lists them"},
	{exitStale, "apply PLANFILE refused a stale plan; nothing was changed"},
	{exitInterrupted, "interrupted by SIGINT or SIGTERM; the report lists changed and pending files"},
}

// environment is the ENVIRONMENT section: the variables tagprune reads.
var environment = []struct{ name, what string }{
	{"IMAGEKIT_PRIVATE_KEY", "the ImageKit private API key (or --private-key-file FILE); it never appears in any output"},
	{"IMAGEKIT_API_URL", "the API base URL, as --api-url"},
	{"NO_COLOR", "when set and not empty, no colour, as --no-color"},
	{"GITHUB_STEP_SUMMARY", "when set (GitHub Actions), plan, apply and restore append their markdown summary to that file"},
}

// manPage renders app as a roff manual page. urfave/cli's own generator
// goes through markdown, which takes the "*" of "*.yaml" for emphasis,
// reflows the examples and leaves out each command's description; this one
// keeps every text as written.
func manPage(app *urfave.App, version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s %s \"\" %s \"User Commands\"\n", strings.ToUpper(app.Name), manSection, roffQuoted(app.Name+" "+version))
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", roff(app.Name), roff(app.Usage))

	b.WriteString(".SH SYNOPSIS\n.nf\n")
	for _, c := range app.VisibleCommands() {
		for _, l := range strings.Split(usageText(app, c), "\n") {
			b.WriteString(roffLine(l))
		}
	}
	fmt.Fprintf(&b, "%s\n.fi\n", roff(app.Name+" --version"))

	b.WriteString(".SH DESCRIPTION\n")
	writeVerbatim(&b, app.Description)

	b.WriteString(".SH GLOBAL OPTIONS\nAccepted before the command name and after it.\n")
	writeFlags(&b, app.Flags)

	b.WriteString(".SH COMMANDS\n")
	global := map[string]bool{}
	for _, f := range app.Flags {
		global[f.Names()[0]] = true
	}
	for _, c := range app.VisibleCommands() {
		fmt.Fprintf(&b, ".SS %s\n%s\n", roff(app.Name+" "+c.Name), roff(c.Usage))
		b.WriteString(".PP\n.nf\n")
		for _, l := range strings.Split(usageText(app, c), "\n") {
			b.WriteString(roffLine(l))
		}
		b.WriteString(".fi\n")
		if c.Description != "" {
			b.WriteString(".PP\n")
			writeVerbatim(&b, c.Description)
		}
		var own []urfave.Flag
		for _, f := range c.Flags {
			if !global[f.Names()[0]] {
				own = append(own, f)
			}
		}
		writeFlags(&b, own)
	}

	b.WriteString(".SH ENVIRONMENT\n")
	for _, v := range environment {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roff(v.name), roff(v.what))
	}
	b.WriteString(".SH EXIT STATUS\n")
	for _, s := range exitStatuses {
		fmt.Fprintf(&b, ".TP\n.B %d\n%s\n", s.code, roff(s.what))
	}
	b.WriteString(".SH SEE ALSO\n")
	fmt.Fprintf(&b, "%s, and the README of the project at https://github.com/tagprune/tagprune\n", roff("tagprune COMMAND --help"))
	return b.String()
}

// usageText is a command's usage lines, or one made from its name.
func usageText(app *urfave.App, c *urfave.Command) string {
	if c.UsageText != "" {
		return c.UsageText
	}
	return app.Name + " " + c.Name + " [flags]"
}

// writeVerbatim writes text without filling, so that examples keep their
// lines and indentation.
func writeVerbatim(b *strings.Builder, text string) {
	b.WriteString(".nf\n")
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(roffLine(l))
	}
	b.WriteString(".fi\n")
}

// writeFlags writes one tagged paragraph per visible flag: its spellings,
// its value's name, then its usage, default and environment variable.
func writeFlags(b *strings.Builder, flags []urfave.Flag) {
	for _, f := range flags {
		if isHidden(f) {
			continue
		}
		placeholder, usage := splitPlaceholder(usageOf(f))
		var names []string
		for _, n := range f.Names() {
			if len(n) == 1 {
				names = append(names, `\fB`+roff("-"+n)+`\fR`)
			} else {
				names = append(names, `\fB`+roff("--"+n)+`\fR`)
			}
		}
		head := strings.Join(names, ", ")
		if takesValue(f) {
			if placeholder == "" {
				placeholder = "value"
			}
			head += ` \fI` + roff(placeholder) + `\fR`
		}
		fmt.Fprintf(b, ".TP\n%s\n%s", head, roff(usage))
		if df, ok := f.(urfave.DocGenerationFlag); ok {
			if v := df.GetValue(); takesValue(f) && v != "" {
				fmt.Fprintf(b, " (default: %s)", roff(v))
			}
			if envs := df.GetEnvVars(); len(envs) > 0 {
				fmt.Fprintf(b, " (environment: %s)", roff(strings.Join(envs, ", ")))
			}
		}
		b.WriteString("\n")
	}
}

// splitPlaceholder returns the name a usage text gives its value between
// backquotes (a usage "from `FILE`" names it FILE) and the
// text without the backquotes.
func splitPlaceholder(usage string) (name, text string) {
	const quote = "`"
	before, rest, ok := strings.Cut(usage, quote)
	if !ok {
		return "", usage
	}
	name, after, ok := strings.Cut(rest, quote)
	if !ok {
		return "", usage
	}
	return name, before + name + after
}

// roff escapes text for roff: a backslash is printed as \e, and a hyphen as
// \- so that flags stay ASCII hyphen-minus when copied from the page.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// roffLine escapes one line of text, which must not start a request.
func roffLine(l string) string {
	l = roff(l)
	if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
		l = `\&` + l
	}
	return l + "\n"
}

// roffQuoted is a macro argument in double quotes.
func roffQuoted(s string) string {
	return `"` + strings.ReplaceAll(roff(s), `"`, `""`) + `"`
}
