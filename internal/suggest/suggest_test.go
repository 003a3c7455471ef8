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
