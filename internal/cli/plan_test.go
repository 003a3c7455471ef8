package cli

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/reconcile"
)

func TestApplyCommandLine(t *testing.T) {
	tests := []struct {
		name    string
		plan    string
		src     reconcile.Source
		keyFile string
		want    string
	}{
		{"DefaultAPINeedsNothingMore", "plan.json", reconcile.Source{APIURL: api.DefaultBaseURL}, "", "tagprune apply plan.json"},
		{"SnapshotIsNamed", "plan.json", reconcile.Source{Library: "lib.json"}, "", "tagprune apply plan.json --library lib.json"},
		{"OtherAPIIsNamed", "plan.json", reconcile.Source{APIURL: "http://127.0.0.1:8080"}, "", "tagprune apply plan.json --api-url http://127.0.0.1:8080"},
		{"KeyFileIsNamed", "plan.json", reconcile.Source{APIURL: api.DefaultBaseURL}, "/run/secrets/key",
			"tagprune apply plan.json --private-key-file /run/secrets/key"},
		{"PathsAreQuotedForTheShell", "my plan's.json", reconcile.Source{Library: "a b.json"}, "",
			`tagprune apply 'my plan'\''s.json' --library 'a b.json'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, applyCommandLine(tt.plan, tt.src, tt.keyFile))
		})
	}
}

// The source of a run is the one a saved plan records: the API URL as the
// client normalised it, or the snapshot file.
func TestLibrarySource(t *testing.T) {
	t.Setenv(envPrivateKey, "private_key_for_tests")
	for _, raw := range []string{"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/"} {
		lib, err := openLibrary(context.Background(), sourceOptions{APIURL: raw, MaxRateLimitWait: api.DefaultRateLimitWait, Timeout: api.DefaultTimeout},
			"test", nil, nil, nil)
		require.NoError(t, err)
		assert.Equal(t, reconcile.Source{APIURL: "http://127.0.0.1:8080"}, lib.source(), raw)
	}
	lib, err := openLibrary(context.Background(), sourceOptions{Library: "../../examples/./library.json"}, "test", nil, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, reconcile.Source{Library: "../../examples/library.json"}, lib.source())
}
