package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tagprune/tagprune/api"
)

func TestApplyCommandLine(t *testing.T) {
	tests := []struct {
		name string
		plan string
		src  sourceOptions
		want string
	}{
		{"DefaultAPINeedsNothingMore", "plan.json", sourceOptions{APIURL: api.DefaultBaseURL}, "tagprune apply plan.json"},
		{"SnapshotIsNamed", "plan.json", sourceOptions{APIURL: api.DefaultBaseURL, Library: "lib.json"}, "tagprune apply plan.json --library lib.json"},
		{"OtherAPIIsNamed", "plan.json", sourceOptions{APIURL: "http://127.0.0.1:8080"}, "tagprune apply plan.json --api-url http://127.0.0.1:8080"},
		{"KeyFileIsNamed", "plan.json", sourceOptions{APIURL: api.DefaultBaseURL, PrivateKeyFile: "/run/secrets/key"},
			"tagprune apply plan.json --private-key-file /run/secrets/key"},
		{"PathsAreQuotedForTheShell", "my plan's.json", sourceOptions{Library: "a b.json"},
			`tagprune apply 'my plan'\''s.json' --library 'a b.json'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, applyCommandLine(tt.plan, tt.src))
		})
	}
}
