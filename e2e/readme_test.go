package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's sh blocks are executed: every line in them is either the
// test command or a tagprune command that works on a fresh clone.
const (
	readmeTestCommand = "go test -race ./..."
	readmeQuickPlan   = "go run . plan -f examples/manifest.yaml --library examples/library.json"
)

// readmeLine is one command of a README sh block.
type readmeLine struct {
	text     string // as written
	lineNo   int
	wantExit int // 0, or the N of a trailing "# exit N: ..." comment
}

var exitComment = regexp.MustCompile(`#\s*exit (\d+)\b`)

// readmeShellLines returns the lines of the ```sh blocks of the README,
// skipping blank lines and comments.
func readmeShellLines(t *testing.T, readme string) []readmeLine {
	t.Helper()
	var lines []readmeLine
	inSh := false
	for i, l := range strings.Split(readme, "\n") {
		trimmed := strings.TrimSpace(l)
		switch {
		case !inSh && trimmed == "```sh":
			inSh = true
			continue
		case inSh && trimmed == "```":
			inSh = false
			continue
		}
		if !inSh || trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		rl := readmeLine{text: trimmed, lineNo: i + 1}
		if m := exitComment.FindStringSubmatch(trimmed); m != nil {
			rl.wantExit, _ = strconv.Atoi(m[1])
		}
		lines = append(lines, rl)
	}
	require.False(t, inSh, "README.md: a ```sh block is not closed")
	return lines
}

func TestReadmeStartsWithWhatWorksOnAFreshMachine(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(readmeFile)
	require.NoError(t, err)
	var head []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			head = append(head, strings.TrimSpace(l))
		}
		if len(head) == 6 {
			break
		}
	}
	require.Len(t, head, 6)
	assert.Equal(t, "# tagprune", head[0], "the title")
	assert.NotContains(t, head[1], "```", "a one-line description follows the title")
	assert.Equal(t, []string{"```sh", readmeQuickPlan, readmeTestCommand, "```"}, head[2:])
}

// TestReadmeCommandsRun runs every command of the README's sh blocks, in
// order, with the built binary, in a directory holding a copy of examples/.
// Paths under /tmp/ are moved into a temporary directory. A command exits 0
// unless a trailing "# exit N" comment says otherwise.
func TestReadmeCommandsRun(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(readmeFile)
	require.NoError(t, err)
	lines := readmeShellLines(t, string(b))
	require.NotEmpty(t, lines)

	work := t.TempDir()
	scratch := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(work, "examples"), 0o755))
	for _, f := range []string{"manifest.yaml", "library.json"} {
		copyFile(t, filepath.Join(repoRoot, "examples", f), filepath.Join(work, "examples", f))
	}

	ran := 0
	for _, l := range lines {
		if l.text == readmeTestCommand {
			continue // the command running this test
		}
		script, ok := readmeScript(l.text, binary, scratch)
		require.True(t, ok, "README.md:%d: a ```sh block line must be a tagprune, 'go run .' or cp command "+
			"(use ```bash for commands that need a key or run forever): %s", l.lineNo, l.text)
		t.Run(strconv.Itoa(l.lineNo), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			x := exec.CommandContext(ctx, "sh", "-c", script)
			x.Dir = work
			x.Env = cleanEnv()
			out, err := x.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, l.wantExit, code, "README.md:%d: %s\n%s", l.lineNo, l.text, out)
		})
		ran++
	}
	assert.GreaterOrEqual(t, ran, 5, "the README shows at least the quick start")
}

// readmeScript turns a README command into a shell script that runs the
// built binary: "go run ." and a leading "tagprune" become bin, and /tmp/
// becomes scratch. It reports false for a line that runs anything but
// tagprune and cp.
func readmeScript(line, bin, scratch string) (string, bool) {
	var parts []string
	line = strings.ReplaceAll(line, "/tmp/", strings.TrimSuffix(scratch, "/")+"/")
	for _, part := range strings.Split(line, " && ") {
		p := strings.TrimSpace(part)
		switch {
		case strings.HasPrefix(p, "go run . "):
			p = shellQuote(bin) + " " + strings.TrimPrefix(p, "go run . ")
		case strings.HasPrefix(p, "tagprune "):
			p = shellQuote(bin) + " " + strings.TrimPrefix(p, "tagprune ")
		case strings.HasPrefix(p, "cp "):
		default:
			return "", false
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " && "), true
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func TestReadmeScript(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line, want string
		ok               bool
	}{
		{"GoRunBecomesTheBinary", "go run . plan -f m.yaml", "'/b/tp' plan -f m.yaml", true},
		{"TagpruneBecomesTheBinary", "tagprune schema > s.json", "'/b/tp' schema > s.json", true},
		{"CopyThenRunAndTmpMoves", "cp a.json /tmp/l.json && go run . apply --library /tmp/l.json",
			"cp a.json /s/l.json && '/b/tp' apply --library /s/l.json", true},
		{"OtherCommandsAreRefused", "curl http://127.0.0.1:8080/", "", false},
		{"CopyIsAllowed", "cp a /tmp/b", "cp a /s/b", true},
		{"ChainsWithOtherCommandsAreRefused", "go run . plan && rm -rf x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := readmeScript(tt.line, "/b/tp", "/s")
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
