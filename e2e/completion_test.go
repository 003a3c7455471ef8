package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/internal/cli"
)

// visibleCommands returns the names of tagprune's commands, from the CLI's
// own definition.
func visibleCommands() []string {
	var names []string
	for _, c := range cli.NewApp(cli.Streams{Out: io.Discard, Err: io.Discard}, "test").VisibleCommands() {
		names = append(names, c.Name)
	}
	return names
}

// shellEnv is the environment of a shell that finds the built binary as
// "tagprune".
func shellEnv(dir string) []string {
	return append(cleanEnv(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+dir)
}

// inShell runs script with the given shell, in the repository's root so that
// examples/ resolves, and returns what it printed.
func inShell(t *testing.T, shell string, script string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		t.Skipf("%s is not installed (.ci/run installs it)", shell)
	}
	x := exec.Command(shell, append(args, "-c", script)...)
	x.Dir = repoRoot
	x.Env = shellEnv(t.TempDir())
	out, err := x.CombinedOutput()
	require.NoError(t, err, "%s: %s", shell, out)
	return string(out)
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			r := tagprune(t, cmd{args: []string{"completion", shell}})
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.NotEmpty(t, r.stdout)
			assert.Empty(t, r.stderr)
			assert.Contains(t, r.stdout, "tagprune completion --help", "the script says where its instructions are")
			assert.Contains(t, r.stdout, "--generate-bash-completion", "the script asks the binary")

			// The shell itself reads the script.
			script := filepath.Join(t.TempDir(), "tagprune."+shell)
			require.NoError(t, os.WriteFile(script, []byte(r.stdout), 0o644))
			check := map[string][]string{"bash": {"-n", script}, "zsh": {"-n", script}, "fish": {"--no-execute", script}}[shell]
			if _, err := exec.LookPath(shell); err != nil {
				t.Skipf("%s is not installed (.ci/run installs it)", shell)
			}
			out, err := exec.Command(shell, check...).CombinedOutput()
			require.NoError(t, err, "%s finds the script invalid: %s", shell, out)
		})
	}

	t.Run("UnknownShell", func(t *testing.T) {
		t.Parallel()
		r := tagprune(t, cmd{args: []string{"completion", "powershell"}})
		assert.Equal(t, exitError, r.code)
		assert.Empty(t, r.stdout)
		assert.Contains(t, r.stderr, `no completion script for "powershell": the shells are bash, fish, zsh`)
	})
}

// TestCompletionThroughTheBinary asks the binary what the scripts ask it:
// the words typed, the word under the cursor and --generate-bash-completion.
func TestCompletionThroughTheBinary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"EveryCommand", []string{""}, strings.Join(visibleCommands(), "\n") + "\n"},
		{"APartialCommand", []string{"ap"}, "apply\n"},
		{"APartialFlag", []string{"plan", "--detailed"}, "--detailed-exitcode\n"},
		{"AFlagAfterAPositionalArgument", []string{"apply", "plan.json", "--con"}, "--concurrency\n"},
		{"AFlagValue", []string{"plan", "--format", "m"}, "markdown\n"},
		{"AGlobalFlagBeforeTheCommand", []string{"--log-l"}, "--log-level\n"},
		{"FilesAreLeftToTheShell", []string{"plan", "-f", "exam"}, ""},
		{"ShellsOfCompletion", []string{"completion", "z"}, "zsh\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tagprune(t, cmd{args: append(tt.args, "--generate-bash-completion")})
			assert.Equal(t, exitOK, r.code)
			assert.Equal(t, tt.want, r.stdout)
			assert.Empty(t, r.stderr)
		})
	}

	t.Run("NothingRunsAndNothingIsWritten", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--library", exampleLibraryDoc, "--auto-approve", "--report", "r.json", "--generate-bash-completion"}, dir: dir})
		assert.Equal(t, exitOK, r.code)
		assert.NoFileExists(t, filepath.Join(dir, "r.json"))
		assert.Empty(t, r.stderr)
	})
}

// TestBashCompletes loads the bash script as bash-completion would and
// completes through it, as pressing TAB does.
func TestBashCompletes(t *testing.T) {
	t.Parallel()
	const complete = `source <(tagprune completion bash)
t() {
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  _tagprune_completion
  printf '%s|' "${COMPREPLY[@]}"; echo
}
`
	tests := []struct {
		name  string
		words string
		want  string
	}{
		{"Commands", `tagprune ""`, strings.Join(visibleCommands(), "|") + "|"},
		{"APartialCommand", `tagprune pl`, "plan|"},
		{"APartialFlag", `tagprune apply --max-c`, "--max-changes|"},
		{"AValue", `tagprune validate --format ""`, "text|github|"},
		// bash splits "--format=m" at "=" and replaces only what follows it.
		{"AValueAfterEquals", `tagprune plan --format = m`, "markdown|"},
		{"RightAfterEquals", `tagprune plan --format =`, "=text|=json|=markdown|"},
		{"FilesAreBashsOwn", `tagprune plan -f ex`, "|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := inShell(t, "bash", complete+"t "+tt.words)
			assert.Equal(t, tt.want+"\n", out)
		})
	}
	t.Run("Registered", func(t *testing.T) {
		t.Parallel()
		out := inShell(t, "bash", "source <(tagprune completion bash) && complete -p tagprune")
		assert.Equal(t, "complete -o default -F _tagprune_completion tagprune\n", out)
	})
}

// TestZshCompletes runs the zsh completion function with zsh's _describe
// and _files replaced by functions that print what they are given.
func TestZshCompletes(t *testing.T) {
	t.Parallel()
	const complete = `compdef() { :; }
_describe() { print -rl -- "${(@P)4}"; }
_files() { print -r -- FILES; }
source <(tagprune completion zsh)
`
	tests := []struct {
		name, words string
		current     int
		want        string
	}{
		{"APartialCommand", "tagprune pl", 2, "plan:show what apply would change (a dry run: only read requests)\n"},
		{"AFlagValue", "tagprune plan --format=j", 3, "--format=json\n"},
		{"FilesAreZshsOwn", "tagprune apply pl", 3, "FILES\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			script := complete + "words=(" + tt.words + "); CURRENT=" + strconv.Itoa(tt.current) + "; _tagprune"
			assert.Equal(t, tt.want, inShell(t, "zsh", script, "-f"))
		})
	}
	t.Run("EveryCommand", func(t *testing.T) {
		t.Parallel()
		out := inShell(t, "zsh", complete+`words=(tagprune ""); CURRENT=2; _tagprune`, "-f")
		for _, c := range visibleCommands() {
			assert.Contains(t, "\n"+out, "\n"+c+":", "zsh offers %s with its description", c)
		}
	})
}

// TestFishCompletes asks fish what it would complete, with complete -C.
func TestFishCompletes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line, want string
	}{
		{"APartialCommand", "tagprune pl", "plan\tshow what apply would change (a dry run: only read requests)\n"},
		{"AFlagValue", "tagprune plan --format ", "json\nmarkdown\ntext\n"},
		{"FilesAreFishsOwn", "tagprune plan -f examples/manifest.y", "examples/manifest.yaml\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := inShell(t, "fish", "tagprune completion fish | source; complete -C '"+tt.line+"'")
			assert.Equal(t, tt.want, out)
		})
	}
	t.Run("EveryCommand", func(t *testing.T) {
		t.Parallel()
		out := inShell(t, "fish", "tagprune completion fish | source; complete -C 'tagprune '")
		for _, c := range visibleCommands() {
			assert.Contains(t, "\n"+out, "\n"+c+"\t", "fish offers %s with its description", c)
		}
	})
}

func TestManPage(t *testing.T) {
	t.Parallel()
	r := tagprune(t, cmd{args: []string{"man"}})
	require.Equal(t, exitOK, r.code, r.stderr)
	page := r.stdout
	assert.True(t, strings.HasPrefix(page, ".TH TAGPRUNE 1 "), "a page of section 1")
	for _, section := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS", "ENVIRONMENT", "EXIT STATUS"} {
		assert.Contains(t, page, "\n.SH "+section+"\n")
	}
	app := cli.NewApp(cli.Streams{Out: io.Discard, Err: io.Discard}, "test")
	for _, c := range app.VisibleCommands() {
		assert.Contains(t, page, "\n.SS tagprune "+c.Name+"\n")
		for _, f := range c.Flags {
			name := f.Names()[0]
			if len(name) > 1 {
				assert.Contains(t, page, `\fB\-\-`+strings.ReplaceAll(name, "-", `\-`)+`\fR`, "tagprune %s --%s", c.Name, name)
			}
		}
	}
	assert.Contains(t, page, `*.yaml`, "text is not taken for markup")
	assert.Contains(t, page, "\n.B IMAGEKIT_PRIVATE_KEY\n")
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, ".") {
			assert.Regexp(t, `^\.(TH|SH|SS|PP|TP|B|nf|fi)( |$)`, l, "only the man macros the page means to use")
		}
	}

	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff is not installed")
	}
	x := exec.Command("groff", "-man", "-ww", "-z")
	x.Stdin = strings.NewReader(page)
	out, err := x.CombinedOutput()
	assert.NoError(t, err)
	assert.Empty(t, string(out), "groff has no warning about the page")
}
