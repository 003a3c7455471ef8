package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/manifest"
)

func namedRules(names ...string) []manifest.Rule {
	rules := make([]manifest.Rule, len(names))
	for i, n := range names {
		rules[i] = manifest.Rule{Name: n}
	}
	return rules
}

func TestCheckRuleFilter(t *testing.T) {
	rules := namedRules("retire-spring-sale-2022", "retire-2023-campaigns", "release-legal-hold", "expire-old-blog-drafts")
	tests := []struct {
		name     string
		patterns []string
		want     string // "" for no error
	}{
		{"NoFilter", nil, ""},
		{"AName", []string{"release-legal-hold"}, ""},
		{"AGlob", []string{"retire-*"}, ""},
		{"ATypoSuggestsTheClosest", []string{"retire-spring-sale-2O22"},
			`--rule "retire-spring-sale-2O22" matches no rule (did you mean "retire-spring-sale-2022"?); nothing was read or changed`},
		{"APrefixSuggestsEveryCloseName", []string{"retire"},
			`--rule "retire" matches no rule (did you mean "retire-2023-campaigns" or "retire-spring-sale-2022"?)`},
		{"NothingCloseListsTheRules", []string{"deploy"},
			`--rule "deploy" matches no rule; the 4 rules are "retire-spring-sale-2022", "retire-2023-campaigns", "release-legal-hold", "expire-old-blog-drafts"; nothing was read or changed`},
		{"AGlobThatMatchesNothing", []string{"retire-2099-*"}, `--rule "retire-2099-*" matches no rule`},
		{"ABadGlob", []string{"retire-[2022"}, `--rule "retire-[2022" is neither a rule name nor a valid glob`},
		{"EveryBadNameIsNamed", []string{"retire-*", "relase-legal-hold", "expire-old-blog-draft"},
			`--rule "relase-legal-hold" matches no rule (did you mean "release-legal-hold"?); --rule "expire-old-blog-draft" matches no rule (did you mean "expire-old-blog-drafts"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkRuleFilter(rules, tt.patterns)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, exitError, exitCode(err))
		})
	}
	t.Run("ManyRulesAreCounted", func(t *testing.T) {
		var names []string
		for i := range 25 {
			names = append(names, fmt.Sprintf("rule-%02d", i))
		}
		err := checkRuleFilter(namedRules(names...), []string{"zzz"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"rule-09" and 15 more; nothing was read or changed`)
		assert.NotContains(t, err.Error(), "rule-10")
	})
}

// A --rule that selects nothing is refused before the library is read: here
// the library does not even exist, and the error is the --rule one.
func TestABadRuleReadsNothing(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(m, []byte("version: 1\nrules:\n  - name: retire-sale\n    files: {paths: [/]}\n    forbiddenTags: [sale]\n"), 0o644))
	for _, command := range []string{"plan", "apply"} {
		t.Run(command, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			report := filepath.Join(dir, command+"-report.json")
			args := []string{"tagprune", command, "-f", m, "--rule", "retire-sael", "--library", filepath.Join(dir, "absent.json"), "--report", report}
			code := Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr}, "test")
			assert.Equal(t, exitError, code)
			assert.Contains(t, stderr.String(), `--rule "retire-sael" matches no rule (did you mean "retire-sale"?)`)
			assert.NotContains(t, stderr.String(), "absent.json")
			if command == "plan" {
				assert.Empty(t, stdout.String())
				_, err := os.Stat(report)
				assert.ErrorIs(t, err, os.ErrNotExist, "no report: nothing ran")
				return
			}
			// apply writes its report whatever happens: it lists no file
			// and says why.
			b, err := os.ReadFile(report)
			require.NoError(t, err)
			assert.Contains(t, string(b), `matches no rule`)
			assert.Contains(t, string(b), `"files": []`)
		})
	}
}
