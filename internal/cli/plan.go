package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/reconcile"
)

// planOptions are the flags of tagprune plan.
type planOptions struct {
	Global           globalOptions
	Source           sourceOptions
	Manifests        []string
	Out              string // save the plan here too, when set
	Format           string // formatText, formatJSON or formatMarkdown
	DetailedExitcode bool
	Reports          []string
	BatchSize        int
	// Rules are the --rule NAMEs: evaluate only the rules they select.
	Rules []string
}

func planCommand(e *env) *urfave.Command {
	return &urfave.Command{
		Name:      "plan",
		Usage:     "show what apply would change (a dry run: only read requests)",
		UsageText: "tagprune plan -f PATH... [--rule NAME]... [--out PLANFILE] [--format text|json|markdown] [--detailed-exitcode] [--report FILE]",
		Description: `Reads the library and prints, rule by rule and file by file, what apply would
do: the tags it would remove (-), the renames (~) and the AITags it would remove,
then a summary line with the counts and the calls. An allowlist rule also gets a
line saying which tags it would remove most often. Nothing is changed.

--out PLANFILE saves the plan and prints the exact command that applies it.
--detailed-exitcode exits 2 when there is something to change, for drift checks.

--rule NAME limits the plan to the rules NAME selects (a glob selects every rule it
matches), like Terraform's -target: for break-glass runs. The plan records the filter
and says which rules it left out; a NAME that selects no rule is an error.

Examples:
  tagprune plan -f examples/manifest.yaml --library examples/library.json
  tagprune plan -f tagprune.yaml --out plan.json               # review, then: tagprune apply plan.json
  tagprune plan -f tagprune.yaml --format markdown > comment.md
  tagprune plan -f tagprune.yaml --detailed-exitcode            # exit 2 when there is drift
  tagprune plan -f tagprune.yaml --rule 'retire-*' --out plan.json   # only the rules named retire-...`,
		Flags: withGlobal(append([]urfave.Flag{
			manifestFlag(),
			ruleFlag(),
			&urfave.StringFlag{Name: flagOut, Usage: "save the plan to `PLANFILE` for 'tagprune apply PLANFILE'", TakesFile: true},
			&urfave.StringFlag{Name: flagFormat, Value: defaultFormat, Usage: "output `FORMAT`: text, json (the plan document) or markdown (a pull-request comment)"},
			&urfave.BoolFlag{Name: flagDetailedExitcode, Usage: "exit 0 when there are no changes, 2 when there are, 1 on error"},
			reportFlag("also write a report `FILE`"),
			batchSizeFlag(),
		}, sourceFlags()...)...),
		Action: action(e, parsePlan, runPlan),
	}
}

func parsePlan(c *urfave.Context) (*planOptions, error) {
	src, err := parseSource(c)
	if err != nil {
		return nil, err
	}
	o := &planOptions{
		Global:           parseGlobal(c),
		Source:           src,
		Manifests:        c.StringSlice(flagManifest),
		Rules:            c.StringSlice(flagRule),
		Out:              c.String(flagOut),
		Format:           c.String(flagFormat),
		DetailedExitcode: c.Bool(flagDetailedExitcode),
		Reports:          c.StringSlice(flagReport),
		BatchSize:        c.Int(flagBatchSize),
	}
	if err := requireManifest(c.Command.Name, o.Manifests); err != nil {
		return nil, err
	}
	if o.Format != formatText && o.Format != formatJSON && o.Format != formatMarkdown {
		return nil, fmt.Errorf("--%s %q: want text, json or markdown", flagFormat, o.Format)
	}
	if err := checkBatchSize(o.BatchSize); err != nil {
		return nil, err
	}
	if err := checkRuleFlags(o.Rules); err != nil {
		return nil, err
	}
	if err := checkReportPaths(o.Reports); err != nil {
		return nil, err
	}
	return o, nil
}

// files returns what the run writes and what it reads, for the preflight.
func (o *planOptions) files() (outputs, inputs []file) {
	if o.Out != "" {
		outputs = append(outputs, file{"--" + flagOut, o.Out})
	}
	for _, r := range o.Reports {
		outputs = append(outputs, file{"--" + flagReport, r})
	}
	return outputs, sourceInputs(o.Source, o.Manifests, "")
}

func runPlan(ctx context.Context, e *env, o *planOptions) error {
	if err := preflight(o.files()); err != nil {
		return fmt.Errorf("%w; nothing was sent", err)
	}
	s, err := openSession(ctx, e, o.Global, o.Manifests, o.Rules, o.Source)
	if err != nil {
		return err
	}
	e.intr.during(reading(""), nil)
	plan, err := s.plan(ctx, o.BatchSize)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	switch o.Format {
	case formatJSON:
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		err = enc.Encode(plan)
	case formatMarkdown:
		err = reconcile.RenderMarkdown(&out, plan)
	default:
		err = reconcile.RenderText(&out, plan, o.Global.color(e.Out))
	}
	if err != nil {
		return err
	}
	if _, err := e.Out.Write(out.Bytes()); err != nil {
		return err
	}
	if o.Out != "" {
		if err := reconcile.WritePlan(o.Out, plan); err != nil {
			return fmt.Errorf("save the plan: %w", err)
		}
		fmt.Fprintf(e.Err, "Saved the plan to %s. Apply exactly this plan with: %s\n", o.Out,
			applyCommandLine(o.Out, s.lib.source(), o.Source.PrivateKeyFile))
	}
	if err := writeReports(o.Reports, reconcile.PlanReport(plan)); err != nil {
		return err
	}
	if err := stepSummary(func(w io.Writer) error { return reconcile.RenderMarkdown(w, plan) }); err != nil {
		return err
	}
	if o.DetailedExitcode && len(plan.Changes) > 0 {
		return errChanges
	}
	return nil
}

// applyCommandLine is the command that applies the plan saved at planFile
// to the library src names: the snapshot file, or the API URL when it is
// not the default one, and keyFile when the key came from one. The private
// key itself is never part of it. Arguments are quoted for a POSIX shell
// where they need it.
func applyCommandLine(planFile string, src reconcile.Source, keyFile string) string {
	args := []string{"tagprune", "apply", shellWord(planFile)}
	switch {
	case src.Library != "":
		args = append(args, "--"+flagLibrary, shellWord(src.Library))
	default:
		if src.APIURL != api.DefaultBaseURL {
			args = append(args, "--"+flagAPIURL, shellWord(src.APIURL))
		}
		if keyFile != "" {
			args = append(args, "--"+flagPrivateKeyFile, shellWord(keyFile))
		}
	}
	return strings.Join(args, " ")
}

// shellWord quotes s for a POSIX shell unless it needs no quoting.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
