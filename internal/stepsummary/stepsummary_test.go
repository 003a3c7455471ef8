package stepsummary_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/internal/stepsummary"
)

func TestAppend(t *testing.T) {
	t.Run("UnsetDoesNothing", func(t *testing.T) {
		t.Setenv(stepsummary.Env, "")
		assert.False(t, stepsummary.Enabled())
		assert.NoError(t, stepsummary.Append([]byte("## x\n")))
	})

	t.Run("AppendsAfterEarlierStepsWithANewline", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "summary.md")
		require.NoError(t, os.WriteFile(p, []byte("# earlier\n"), 0o644))
		t.Setenv(stepsummary.Env, p)
		assert.True(t, stepsummary.Enabled())
		require.NoError(t, stepsummary.Append([]byte("## one")))
		require.NoError(t, stepsummary.Append([]byte("## two\n")))
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "# earlier\n## one\n## two\n", string(got))
	})

	t.Run("CreatesTheFile", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "summary.md")
		t.Setenv(stepsummary.Env, p)
		require.NoError(t, stepsummary.Append([]byte("## x\n")))
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "## x\n", string(got))
	})

	t.Run("UnwritableFileNamesTheVariableAndTheFile", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "no", "summary.md")
		t.Setenv(stepsummary.Env, p)
		err := stepsummary.Append([]byte("## x\n"))
		require.ErrorIs(t, err, os.ErrNotExist)
		assert.ErrorContains(t, err, stepsummary.Env)
		assert.ErrorContains(t, err, p)
	})
}
