package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every allowlist rule gets a warning from validate, which still exits 0.
func TestValidateWarnsAboutEveryAllowlist(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.yaml")
	require.NoError(t, os.WriteFile(m, []byte(`version: 1
rules:
  - name: brand-vocabulary
    files: {paths: [/brand/]}
    allowedTags: [brand, "logo-*"]
  - name: retire-sale
    files: {paths: [/]}
    forbiddenTags: [sale]
  - name: shop-vocabulary
    files: {paths: [/shop/]}
    allowedTags: ["color-*"]
    forbiddenTags: [color-legacy]
`), 0o644))
	plain := filepath.Join(dir, "plain.yaml")
	require.NoError(t, os.WriteFile(plain, []byte("version: 1\nrules:\n  - name: retire-sale\n    files: {paths: [/]}\n    forbiddenTags: [sale]\n"), 0o644))

	run := func(args ...string) (string, string, int) {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), append([]string{"tagprune", "validate"}, args...), Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr}, "test")
		return stdout.String(), stderr.String(), code
	}
	t.Run("Text", func(t *testing.T) {
		stdout, stderr, code := run("-f", m)
		assert.Equal(t, exitOK, code)
		assert.Equal(t, "Manifest OK: 3 rules in "+m+" (2 warnings).\n", stdout)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		require.Len(t, lines, 2)
		assert.True(t, strings.HasPrefix(lines[0], m+`:3:5: warning: rule "brand-vocabulary" is an allowlist: `), lines[0])
		assert.True(t, strings.HasPrefix(lines[1], m+`:9:5: warning: rule "shop-vocabulary" is an allowlist: `), lines[1])
		assert.Contains(t, lines[0], "a typo there removes tags meant to stay")
		assert.Contains(t, lines[0], "apply with --max-changes N")
	})
	t.Run("GitHub", func(t *testing.T) {
		stdout, stderr, code := run("-f", m, "--format", "github")
		assert.Equal(t, exitOK, code)
		assert.Empty(t, stderr)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		require.Len(t, lines, 3)
		assert.True(t, strings.HasPrefix(lines[0], "::warning file="+escapeProperty(m)+`,line=3,col=5::rule "brand-vocabulary" is an allowlist: `), lines[0])
		assert.Contains(t, lines[0], "--max-changes N")
		assert.True(t, strings.HasPrefix(lines[1], "::warning file="+escapeProperty(m)+`,line=9,col=5::rule "shop-vocabulary"`), lines[1])
		assert.Equal(t, "Manifest OK: 3 rules in "+m+" (2 warnings).", lines[2])
	})
	t.Run("NoAllowlistNoWarning", func(t *testing.T) {
		stdout, stderr, code := run("-f", plain)
		assert.Equal(t, exitOK, code)
		assert.Equal(t, "Manifest OK: 1 rule in "+plain+".\n", stdout)
		assert.Empty(t, stderr)
	})
}
