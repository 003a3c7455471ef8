package suggest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tagprune/tagprune/internal/suggest"
)

func TestClosest(t *testing.T) {
	commands := []string{"validate", "plan", "apply", "export", "schema", "emulator"}
	planFlags := []string{"file", "f", "out", "format", "detailed-exitcode", "report", "batch-size",
		"api-url", "private-key-file", "library", "timeout", "log-level", "log-format", "no-color", "quiet", "q"}
	ruleKeys := []string{"name", "description", "files", "forbiddenTags"}
	tests := []struct {
		name, given string
		names       []string
		want        string
	}{
		{"CommandWithAnExtraLetter", "plann", commands, "plan"},
		{"CommandWithALetterMissing", "aply", commands, "apply"},
		{"CommandFarFromAll", "deploy", commands, ""},
		{"FlagWithALetterMissing", "libary", planFlags, "library"},
		{"FlagWithLettersSwapped", "log-levl", planFlags, "log-level"},
		{"FlagInCapitals", "LIBRARY", planFlags, "library"},
		{"FlagFarFromAll", "verbose", planFlags, ""},
		{"OneLetterAliasIsNeverSuggested", "g", planFlags, ""},
		{"KeyKeepsItsCase", "forbidenTags", ruleKeys, "forbiddenTags"},
		{"KeyWithALetterMissing", "fils", ruleKeys, "files"},
		{"KeyFarFromAll", "owner", ruleKeys, ""},
		{"KeyOfAnotherObject", "searchQuery", []string{"paths", "fileIds"}, ""},
		{"NoNames", "plan", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, suggest.Closest(tt.given, tt.names))
		})
	}
}

func TestRanked(t *testing.T) {
	rules := []string{"retire-spring-sale-2022", "retire-2023-campaigns", "release-legal-hold", "expire-old-blog-drafts", "x"}
	tests := []struct {
		name  string
		given string
		n     int
		want  []string
	}{
		{"OneLetterWrong", "retire-spring-sale-2O22", 3, []string{"retire-spring-sale-2022"}},
		{"MostSimilarFirst", "retire", 3, []string{"retire-2023-campaigns", "retire-spring-sale-2022"}},
		{"AtMostN", "retire", 1, []string{"retire-2023-campaigns"}},
		{"IgnoresCase", "RELEASE-LEGAL-HOLD", 3, []string{"release-legal-hold"}},
		{"NothingClose", "deploy", 3, []string{}},
		{"OneLetterNamesAreNeverSuggested", "x", 3, []string{}},
		{"NoneAsked", "retire", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, suggest.Ranked(tt.given, rules, tt.n))
		})
	}
}
