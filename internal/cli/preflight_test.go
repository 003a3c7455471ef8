//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("[]\n"), 0o644))
		return p
	}
	lib := write("lib.json")
	manifest := write("tagprune.yaml")
	manifests := filepath.Join(dir, "manifests")
	require.NoError(t, os.Mkdir(manifests, 0o755))
	inDir := filepath.Join(manifests, "rules.yml")
	require.NoError(t, os.WriteFile(inDir, []byte("version: 1\n"), 0o644))
	linked := filepath.Join(dir, "linked.json")
	require.NoError(t, os.Link(lib, linked))
	symlinked := filepath.Join(dir, "symlinked.json")
	require.NoError(t, os.Symlink("lib.json", symlinked))
	fifo := filepath.Join(dir, "fifo.json")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	fresh := filepath.Join(dir, "new.json")

	inputs := []file{{"-f", manifest}, {"-f", manifests}, {"--library", lib}}
	tests := []struct {
		name    string
		outputs []file
		want    string // "" when allowed
	}{
		{name: "NewFileInAnExistingFolderIsAllowed", outputs: []file{{"--report", fresh}}},
		{name: "TheLibraryRewrittenByApplyIsAllowed", outputs: []file{{"--report", fresh}, {"--library", lib}}},
		{name: "MissingFolderIsRefused", outputs: []file{{"--report", filepath.Join(dir, "no", "r.json")}},
			want: "--report " + filepath.Join(dir, "no", "r.json") + " cannot be written: the folder " + filepath.Join(dir, "no") + " does not exist"},
		{name: "NamedPipeIsRefused", outputs: []file{{"--report", fifo}}, want: "is a named pipe (FIFO)"},
		{name: "DirectoryIsRefused", outputs: []file{{"--out", manifests}}, want: "is a directory"},
		{name: "ReportOntoTheLibraryIsRefused", outputs: []file{{"--report", lib}},
			want: "--report " + lib + " is the same file as --library " + lib},
		{name: "HardLinkToTheLibraryIsRefused", outputs: []file{{"--report", linked}}, want: "is the same file as --library"},
		{name: "SymlinkToTheLibraryIsRefused", outputs: []file{{"--out", symlinked}}, want: "is the same file as --library"},
		{name: "OutOntoAManifestIsRefused", outputs: []file{{"--out", manifest}}, want: "is the same file as -f " + manifest},
		{name: "OutOntoAManifestInADirectoryIsRefused", outputs: []file{{"--out", inDir}}, want: "is the same file as -f " + inDir},
		{name: "TwoOutputsOnOneNewFileAreRefused", outputs: []file{{"--out", fresh}, {"--report", filepath.Join(dir, ".", "new.json")}},
			want: "name the same file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := entries(t, dir)
			err := preflight(tt.outputs, inputs)
			if tt.want == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.want)
			}
			assert.Equal(t, before, entries(t, dir), "the preflight leaves no file behind")
		})
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
