package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/internal/suggest"
	"github.com/tagprune/tagprune/manifest"
)

// completionFlag ends a completion request. The scripts that
// 'tagprune completion' prints run tagprune with the words typed so far, the
// word under the cursor (empty when there is none yet) and this flag; Run
// answers with one candidate per line instead of running a command.
const completionFlag = "--generate-bash-completion"

// completionShellEnv names the shell that asks, so that candidates carry a
// description where the shell shows one: "zsh" gets "value:description",
// "fish" gets "value<TAB>description", and anything else bare values.
const completionShellEnv = "_TAGPRUNE_COMPLETE"

// The shells 'tagprune completion' has a script for.
var completionScripts = map[string]string{
	"bash": bashCompletion,
	"zsh":  zshCompletion,
	"fish": fishCompletion,
}

func completionCommand(e *env) *urfave.Command {
	return &urfave.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		UsageText: "tagprune completion bash|zsh|fish",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a script that lets the shell complete tagprune's commands, flags,
flag values, and the rule names of the manifests given with -f. The script
asks tagprune itself at each TAB, so it stays right after an upgrade.

Per shell, the first line is for the shell you are in, the second saves the script
where new shells find it:
  bash:  source <(tagprune completion bash)
         tagprune completion bash > ~/.local/share/bash-completion/completions/tagprune
  zsh:   source <(tagprune completion zsh)          # after compinit
         tagprune completion zsh > "${fpath[1]}/_tagprune"
  fish:  tagprune completion fish | source
         tagprune completion fish > ~/.config/fish/completions/tagprune.fish`,
		Flags: withGlobal(),
		Action: func(c *urfave.Context) error {
			return runCompletion(e, c.Args().Slice())
		},
	}
}

// runCompletion prints the script of the one shell named in args.
func runCompletion(e *env, args []string) error {
	shells := slices.Sorted(maps.Keys(completionScripts))
	if len(args) != 1 {
		return fmt.Errorf("name one shell: %s, such as 'tagprune completion bash' (see 'tagprune completion --help')",
			strings.Join(shells, ", "))
	}
	script, ok := completionScripts[args[0]]
	if !ok {
		if best := suggest.Closest(args[0], shells); best != "" {
			return fmt.Errorf("no completion script for %q; did you mean %q? The shells are %s", args[0], best, strings.Join(shells, ", "))
		}
		return fmt.Errorf("no completion script for %q: the shells are %s", args[0], strings.Join(shells, ", "))
	}
	_, err := io.WriteString(e.Out, script)
	return err
}

// completionRequest reports whether args (args[0] is the program) ask for
// completions, and returns the words to complete: those after the program,
// the last one being the word under the cursor.
func completionRequest(args []string) ([]string, bool) {
	if len(args) < 2 || args[len(args)-1] != completionFlag {
		return nil, false
	}
	words := args[1 : len(args)-1]
	if len(words) == 0 {
		words = []string{""}
	}
	return words, true
}

// writeCompletions writes the candidates for words, one per line, in the
// form the asking shell wants (see completionShellEnv). It writes nothing
// when the shell should fall back to completing file names.
func writeCompletions(app *urfave.App, words []string, w io.Writer) {
	shell := os.Getenv(completionShellEnv)
	var b strings.Builder
	for _, c := range complete(app, words) {
		desc := firstLine(c.desc)
		switch {
		case shell == "zsh" && desc != "":
			fmt.Fprintf(&b, "%s:%s\n", strings.ReplaceAll(c.value, ":", `\:`), desc)
		case shell == "zsh":
			fmt.Fprintf(&b, "%s\n", strings.ReplaceAll(c.value, ":", `\:`))
		case shell == "fish" && desc != "":
			fmt.Fprintf(&b, "%s\t%s\n", c.value, desc)
		default:
			fmt.Fprintf(&b, "%s\n", c.value)
		}
	}
	_, _ = io.WriteString(w, b.String())
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// candidate is one completion: the word, and what it is for.
type candidate struct {
	value, desc string
}

// typed is what the words before the cursor say: the command (nil before
// one is given), the flags in scope, the manifests named with -f, a flag
// still waiting for its value, and whether "--" ended the flags.
type typed struct {
	cmd       *urfave.Command
	flags     []urfave.Flag
	manifests []string
	pending   urfave.Flag
	noFlags   bool
}

// valueCompleter lists the values a flag can take, given what was typed.
type valueCompleter func(t *typed) []candidate

// flagValues completes the values of flags by name, on whichever command
// has the flag. A flag that names a file is left to the shell's file name
// completion; so is one not listed here.
var flagValues = map[string]valueCompleter{
	flagFormat:    formatValues,
	flagLogLevel:  oneOf("debug", "info", "warn", "error"),
	flagLogFormat: oneOf("text", "json"),
	// --rule (plan, apply -f) selects rules by name: complete the names of
	// the rules of the manifests given with -f. It takes effect on every
	// command that defines a flag named "rule".
	"rule": ruleNames,
}

func oneOf(values ...string) valueCompleter {
	return func(*typed) []candidate {
		out := make([]candidate, len(values))
		for i, v := range values {
			out[i] = candidate{value: v}
		}
		return out
	}
}

// formatValues lists the --format values of the command typed.
func formatValues(t *typed) []candidate {
	if t.cmd == nil {
		return nil
	}
	switch t.cmd.Name {
	case "validate":
		return oneOf(formatText, formatGitHub)(t)
	case "plan":
		return oneOf(formatText, formatJSON, formatMarkdown)(t)
	}
	return nil
}

// ruleNames lists the rules of the manifests typed with -f, with their
// descriptions. Manifests that do not load give no names: completion never
// prints an error.
func ruleNames(t *typed) []candidate {
	if len(t.manifests) == 0 {
		return nil
	}
	rules, err := manifest.Load(context.Background(), t.manifests...)
	if err != nil {
		return nil
	}
	out := make([]candidate, len(rules))
	for i, r := range rules {
		out[i] = candidate{value: r.Name, desc: r.Description}
	}
	return out
}

// complete returns the candidates for the last of words, given the ones
// before it.
func complete(app *urfave.App, words []string) []candidate {
	cur := words[len(words)-1]
	t, ok := scan(app, words[:len(words)-1])
	if !ok {
		return nil
	}
	if t.pending != nil {
		return withPrefix(valuesOf(t, t.pending), cur, "")
	}
	if strings.HasPrefix(cur, "-") && !t.noFlags {
		if name, value, glued := strings.Cut(cur, "="); glued {
			if f := lookupFlag(t.flags, strings.TrimLeft(name, "-")); f != nil && takesValue(f) {
				return withPrefix(valuesOf(t, f), value, name+"=")
			}
			return nil
		}
		return flagCandidates(t, cur)
	}
	if t.cmd == nil {
		var out []candidate
		for _, c := range app.Commands {
			if !c.Hidden && strings.HasPrefix(c.Name, cur) {
				out = append(out, candidate{value: c.Name, desc: c.Usage})
			}
		}
		return out
	}
	switch {
	case t.cmd.Name == "completion":
		return withPrefix(oneOf("bash", "fish", "zsh")(t), cur, "")
	case t.cmd.ArgsUsage == "" && cur == "" && !t.noFlags:
		// Nothing positional to type: show what can be given.
		return flagCandidates(t, "--")
	}
	return nil // a file argument, or nothing to offer: the shell completes file names
}

// scan reads the words before the cursor. It reports false for an unknown
// command, where nothing can be offered.
func scan(app *urfave.App, before []string) (*typed, bool) {
	t := &typed{flags: append(slices.Clip(app.Flags), helpFlag(), versionFlag())}
	for _, w := range before {
		switch {
		case t.pending != nil:
			t.record(t.pending, w)
			t.pending = nil
		case t.noFlags:
		case w == "--":
			t.noFlags = true
		case strings.HasPrefix(w, "-") && w != "-":
			name, value, glued := strings.Cut(strings.TrimLeft(w, "-"), "=")
			if f := lookupFlag(t.flags, name); f != nil && takesValue(f) {
				if glued {
					t.record(f, value)
				} else {
					t.pending = f
				}
			}
		case t.cmd == nil:
			t.cmd = app.Command(w)
			if t.cmd == nil {
				return nil, false
			}
			t.flags = append(slices.Clip(t.cmd.Flags), helpFlag())
		}
	}
	return t, true
}

// record notes a flag's value that later completions depend on.
func (t *typed) record(f urfave.Flag, value string) {
	if slices.Contains(f.Names(), flagManifest) {
		t.manifests = append(t.manifests, value)
	}
}

// valuesOf returns the values f can take, or nil to let the shell complete
// file names.
func valuesOf(t *typed, f urfave.Flag) []candidate {
	for _, n := range f.Names() {
		if vc := flagValues[n]; vc != nil {
			return vc(t)
		}
	}
	return nil
}

// flagCandidates returns the visible flags in scope whose spelling starts
// with prefix: "--name" for long names, "-n" for one-letter ones.
func flagCandidates(t *typed, prefix string) []candidate {
	var out []candidate
	for _, f := range t.flags {
		if isHidden(f) {
			continue
		}
		for _, n := range f.Names() {
			spelled := "--" + n
			if len(n) == 1 {
				spelled = "-" + n
			}
			if strings.HasPrefix(spelled, prefix) {
				out = append(out, candidate{value: spelled, desc: strings.ReplaceAll(usageOf(f), "`", "")})
			}
		}
	}
	return out
}

// withPrefix keeps the candidates that start with typed, each written after
// prefix (a flag's "--name=" when its value is glued to it).
func withPrefix(cs []candidate, typed, prefix string) []candidate {
	var out []candidate
	for _, c := range cs {
		if strings.HasPrefix(c.value, typed) {
			out = append(out, candidate{value: prefix + c.value, desc: c.desc})
		}
	}
	return out
}

func lookupFlag(flags []urfave.Flag, name string) urfave.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func takesValue(f urfave.Flag) bool {
	_, isBool := f.(*urfave.BoolFlag)
	return !isBool
}

func isHidden(f urfave.Flag) bool {
	vf, ok := f.(urfave.VisibleFlag)
	return ok && !vf.IsVisible()
}

func usageOf(f urfave.Flag) string {
	if df, ok := f.(urfave.DocGenerationFlag); ok {
		return df.GetUsage()
	}
	return ""
}

// helpFlag and versionFlag are the flags urfave/cli adds by itself.
func helpFlag() urfave.Flag {
	return &urfave.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help"}
}

func versionFlag() urfave.Flag {
	return &urfave.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version"}
}

// The scripts below all do the same: hand tagprune the words typed so far,
// the word under the cursor and completionFlag, offer what it prints, and
// complete file names when it prints nothing.

const bashCompletion = `# bash completion for tagprune; see 'tagprune completion --help'.
# Candidates come from tagprune itself, so they follow the installed version.

_tagprune_completion() {
    local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
    local -a args=()
    local i word glue=0
    # bash splits "--format=js" into "--format", "=" and "js": join them again.
    for ((i = 1; i <= COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if ((${#args[@]} > 0)) && { [[ $word == "=" && ${args[${#args[@]}-1]} == -* ]] || ((glue)); }; then
            args[${#args[@]}-1]+=$word
            glue=0
            [[ $word == "=" ]] && glue=1
        else
            args+=("$word")
        fi
    done
    if ((${#args[@]} == 0)); then
        args=("")
    fi
    # What bash replaces is the part after the "=", so drop what comes before it.
    local whole=${args[${#args[@]}-1]} strip=""
    if [[ $whole != "$cur" ]]; then
        strip=${whole%"$cur"}
    fi
    local out line
    out=$("${prog/#\~/$HOME}" "${args[@]}" --generate-bash-completion 2>/dev/null) || return 0
    COMPREPLY=()
    while IFS= read -r line; do
        [[ -n $line ]] && COMPREPLY+=("${line#"$strip"}")
    done <<<"$out"
    return 0
}

complete -o default -F _tagprune_completion tagprune
`

const zshCompletion = `#compdef tagprune
# zsh completion for tagprune; see 'tagprune completion --help'.
# Candidates come from tagprune itself, so they follow the installed version.

_tagprune() {
    local -a candidates
    local out
    out=$(_TAGPRUNE_COMPLETE=zsh "${words[1]/#\~/$HOME}" "${(@Q)words[2,CURRENT]}" --generate-bash-completion 2>/dev/null) || return 1
    candidates=("${(@f)out}")
    candidates=(${candidates:#})
    if (( ${#candidates} == 0 )); then
        _files
        return
    fi
    _describe -t tagprune 'tagprune' candidates
}

# Loaded from $fpath, this file is the completion function itself; sourced,
# it registers the function.
if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
    _tagprune "$@"
else
    compdef _tagprune tagprune
fi
`

const fishCompletion = `# fish completion for tagprune; see 'tagprune completion --help'.
# Candidates come from tagprune itself, so they follow the installed version.

function __tagprune_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l out (env _TAGPRUNE_COMPLETE=fish $tokens[1] $tokens[2..-1] "$current" --generate-bash-completion 2>/dev/null)
    if test (count $out) -eq 0
        __fish_complete_path "$current"
        return
    end
    printf '%s\n' $out
end

complete -c tagprune -f -a '(__tagprune_complete)'
`
