package cli

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	urfave "github.com/urfave/cli/v2"
)

// The rule names of examples/manifest.yaml, as written there.
var exampleRules = []string{"retire-spring-sale-2022", "retire-2023-campaigns", "release-legal-hold", "expire-old-blog-drafts", "brand-vocabulary", "drop-sale-aitags", "spell-out-ugc"}

func values(cs []candidate) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.value)
	}
	return out
}

func TestComplete(t *testing.T) {
	app := NewApp(Streams{Out: io.Discard, Err: io.Discard}, "test")
	tests := []struct {
		name  string
		words []string
		want  []string
	}{
		{"CommandsFromNothing", []string{""}, []string{"validate", "plan", "apply", "restore", "export", "schema", "emulator", "completion", "man"}},
		{"CommandFromItsStart", []string{"pl"}, []string{"plan"}},
		{"SeveralCommandsShareAStart", []string{"e"}, []string{"export", "emulator"}},
		{"GlobalFlagsBeforeTheCommand", []string{"--no"}, []string{"--no-color"}},
		{"CommandAfterAGlobalFlagAndItsValue", []string{"--log-level", "debug", "ap"}, []string{"apply"}},
		{"FlagsOfTheCommand", []string{"plan", "--de"}, []string{"--detailed-exitcode"}},
		{"GlobalFlagsAfterTheCommand", []string{"apply", "--log-f"}, []string{"--log-format"}},
		{"NoFlagOfAnotherCommand", []string{"validate", "--ou"}, []string{}},
		{"ShortAndLongSpellings", []string{"validate", "-"}, []string{"--file", "-f", "--format", "--log-level", "--log-format", "--no-color", "--quiet", "-q", "--help", "-h"}},
		{"DoubleDashOnlyLongNames", []string{"validate", "--"}, []string{"--file", "--format", "--log-level", "--log-format", "--no-color", "--quiet", "--help"}},
		{"FlagsWhenACommandTakesNoArgument", []string{"validate", "-f", "m.yaml", ""}, []string{"--file", "--format", "--log-level", "--log-format", "--no-color", "--quiet", "--help"}},
		{"FormatValuesOfPlan", []string{"plan", "--format", ""}, []string{"text", "json", "markdown"}},
		{"FormatValuesOfValidate", []string{"validate", "--format", "g"}, []string{"github"}},
		{"GluedValue", []string{"plan", "--format=m"}, []string{"--format=markdown"}},
		{"LogLevelValues", []string{"plan", "--log-level", "w"}, []string{"warn"}},
		{"FileFlagLeftToTheShell", []string{"plan", "-f", ""}, []string{}},
		{"PlanFileLeftToTheShell", []string{"apply", "pl"}, []string{}},
		{"ShellsOfCompletion", []string{"completion", ""}, []string{"bash", "fish", "zsh"}},
		{"UnknownCommandOffersNothing", []string{"deploy", "--"}, []string{}},
		{"AfterDoubleDashNoFlags", []string{"apply", "--", "-"}, []string{}},
		{"NoRuleFlagNoRuleNames", []string{"validate", "-f", exampleManifest, "--rule", "re"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, values(complete(app, tt.words)))
		})
	}
}

// TestCompleteRuleNames proves the hook for --rule: on a command that has a
// flag named "rule", its values are the rule names of the manifests given
// with -f. The flag is added here the way plan and apply define theirs.
func TestCompleteRuleNames(t *testing.T) {
	app := NewApp(Streams{Out: io.Discard, Err: io.Discard}, "test")
	for _, name := range []string{"plan", "apply"} {
		cmd := app.Command(name)
		require.NotNil(t, cmd)
		if lookupFlag(cmd.Flags, "rule") == nil {
			cmd.Flags = append(cmd.Flags, &urfave.StringSliceFlag{Name: "rule", Usage: "only the rule `NAME`"})
		}
	}
	split := filepath.Join("..", "..", "e2e", "testdata", "split")
	tests := []struct {
		name  string
		words []string
		want  []string
	}{
		{"AllNames", []string{"plan", "-f", exampleManifest, "--rule", ""}, exampleRules},
		{"NamesFromTheirStart", []string{"plan", "-f", exampleManifest, "--rule", "retire-"}, []string{"retire-spring-sale-2022", "retire-2023-campaigns"}},
		{"GluedToTheFlag", []string{"apply", "--file=" + exampleManifest, "--rule=rel"}, []string{"--rule=release-legal-hold"}},
		{"ManifestGivenAfterTheRule", []string{"plan", "--rule", "x", "-f", exampleManifest, "--rule", "exp"}, []string{"expire-old-blog-drafts"}},
		{"ADirectoryOfManifests", []string{"plan", "-f", split, "--rule", "re"}, []string{"retire-2023-campaigns", "retire-spring-sale-2022", "release-legal-hold"}},
		{"NoManifestNoNames", []string{"plan", "--rule", ""}, []string{}},
		{"AnInvalidManifestGivesNoNamesAndNoError", []string{"plan", "-f", filepath.Join("..", "..", "e2e", "testdata", "invalid", "several-problems.yaml"), "--rule", ""}, []string{}},
		{"AMissingManifestGivesNoNames", []string{"plan", "-f", "no-such.yaml", "--rule", ""}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ElementsMatch(t, tt.want, values(complete(app, tt.words)))
		})
	}
}

func TestWriteCompletionsPerShell(t *testing.T) {
	app := NewApp(Streams{Out: io.Discard, Err: io.Discard}, "test")
	app.Command("plan").Flags = append(app.Command("plan").Flags, &urfave.StringSliceFlag{Name: "rule"})
	tests := []struct {
		shell string
		words []string
		want  string
	}{
		{"", []string{"pl"}, "plan\n"},
		{"zsh", []string{"pl"}, "plan:show what apply would change (a dry run: only read requests)\n"},
		{"fish", []string{"pl"}, "plan\tshow what apply would change (a dry run: only read requests)\n"},
		{"zsh", []string{"plan", "--format", "t"}, "text\n"},
		{"zsh", []string{"plan", "--ou"}, "--out:save the plan to PLANFILE for 'tagprune apply PLANFILE'\n"},
		{"bash", []string{"plan", "-f", exampleManifest, "--rule", "release"},
			"release-legal-hold\n"},
		{"fish", []string{"plan", "-f", exampleManifest, "--rule", "release"},
			"release-legal-hold\tLegal released these press photos on 2024-03-01 (ticket LEGAL-112).\n"},
	}
	for _, tt := range tests {
		t.Run(tt.shell+" "+strings.Join(tt.words, " "), func(t *testing.T) {
			t.Setenv(completionShellEnv, tt.shell)
			var out bytes.Buffer
			writeCompletions(app, tt.words, &out)
			assert.Equal(t, tt.want, out.String())
		})
	}
}

func TestCompletionRequest(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		words []string
		ok    bool
	}{
		{"NotARequest", []string{"tagprune", "plan", "-f", "m.yaml"}, nil, false},
		{"FlagNotLast", []string{"tagprune", completionFlag, "plan"}, nil, false},
		{"WordsBeforeTheFlag", []string{"tagprune", "plan", "--f", completionFlag}, []string{"plan", "--f"}, true},
		{"NothingTyped", []string{"tagprune", completionFlag}, []string{""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			words, ok := completionRequest(tt.args)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.words, words)
		})
	}
}

func TestCompletionCommandRefusesABadShell(t *testing.T) {
	tests := []struct {
		name, want string
		args       []string
	}{
		{"NoShell", "name one shell: bash, fish, zsh", nil},
		{"TwoShells", "name one shell", []string{"bash", "zsh"}},
		{"Misspelt", `did you mean "bash"?`, []string{"bsh"}},
		{"Unknown", `no completion script for "powershell": the shells are bash, fish, zsh`, []string{"powershell"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runCompletion(&env{Streams: Streams{Out: &out, Err: io.Discard}}, tt.args)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, out.String(), "nothing is printed on error")
		})
	}
}
