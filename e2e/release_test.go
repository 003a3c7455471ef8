package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/reconcile"
)

// A release is built by GoReleaser from .goreleaser.yaml, which this
// machine does not run. These tests keep that file in step with the code
// and with CI: the targets, the main package, the variables -X stamps,
// and the cross-build of every target in .ci/run.

var (
	goreleaserFile = filepath.Join(repoRoot, ".goreleaser.yaml")
	ciRunFile      = filepath.Join(repoRoot, ".ci", "run")
)

// releaseTargets are the platforms a release ships, as the README lists
// them.
var releaseTargets = []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}

// goreleaserDoc is the part of .goreleaser.yaml these tests read.
type goreleaserDoc struct {
	Version int `yaml:"version"`
	Before  struct {
		Hooks []string `yaml:"hooks"`
	} `yaml:"before"`
	Builds []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
		Ignore  []any    `yaml:"ignore"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
	} `yaml:"builds"`
	Archives []struct {
		Formats         []string `yaml:"formats"`
		FormatOverrides []struct {
			Goos    string   `yaml:"goos"`
			Formats []string `yaml:"formats"`
		} `yaml:"format_overrides"`
		Files []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
	Changelog struct {
		Use string `yaml:"use"`
	} `yaml:"changelog"`
}

func readGoreleaser(t *testing.T) *goreleaserDoc {
	t.Helper()
	var g goreleaserDoc
	decodeYAML(t, goreleaserFile, &g)
	require.Equal(t, 2, g.Version, "GoReleaser version 2 configuration")
	require.Len(t, g.Builds, 1, "one build: the tagprune binary")
	return &g
}

var stampFlag = regexp.MustCompile(`-X[ =]([\w./-]+)=`)

// stampedVariables returns the variables an ldflags string sets with -X,
// sorted.
func stampedVariables(ldflags string) []string {
	var out []string
	for _, m := range stampFlag.FindAllStringSubmatch(ldflags, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return out
}

func TestGoreleaserMatchesTheCode(t *testing.T) {
	// Not parallel: it runs before the tests that wait on timeouts, so
	// that its CPU does not slow them.
	g := readGoreleaser(t)
	b := g.Builds[0]

	t.Run("TheMainPackage", func(t *testing.T) {
		x := exec.Command("go", "list", "-f", "{{.Name}} {{.ImportPath}}", b.Main)
		x.Dir = repoRoot
		out, err := x.Output()
		require.NoError(t, err)
		assert.Equal(t, "main "+module, strings.TrimSpace(string(out)), "the build's main is the root package that go install builds")
		assert.Equal(t, "tagprune", b.Binary)
	})

	t.Run("EveryTarget", func(t *testing.T) {
		var got []string
		for _, goos := range b.Goos {
			for _, goarch := range b.Goarch {
				got = append(got, goos+"/"+goarch)
			}
		}
		assert.ElementsMatch(t, releaseTargets, got)
		assert.Empty(t, b.Ignore, "no target is left out")
		assert.Contains(t, b.Env, "CGO_ENABLED=0", "static binaries, cross-built without a C toolchain")
	})

	t.Run("ArchivesAndChecksums", func(t *testing.T) {
		require.Len(t, g.Archives, 1)
		arch := g.Archives[0]
		assert.Equal(t, []string{"tar.gz"}, arch.Formats)
		require.Len(t, arch.FormatOverrides, 1)
		assert.Equal(t, "windows", arch.FormatOverrides[0].Goos)
		assert.Equal(t, []string{"zip"}, arch.FormatOverrides[0].Formats)
		for _, f := range arch.Files {
			if !strings.Contains(f, "*") {
				assert.FileExists(t, filepath.Join(repoRoot, f), "an archived file exists")
			}
		}
		assert.Equal(t, "sha256", g.Checksum.Algorithm)
		assert.NotEmpty(t, g.Checksum.NameTemplate)
		assert.Equal(t, "git", g.Changelog.Use)
	})

	// Each "go run . ARGS > FILE" of the hooks makes a file that the
	// archives take: the command must exist and print something.
	t.Run("TheHooksRunRealCommands", func(t *testing.T) {
		runs := regexp.MustCompile(`go run \. ([^>&]+?) > (\S+)`).FindAllStringSubmatch(strings.Join(g.Before.Hooks, "\n"), -1)
		require.NotEmpty(t, runs)
		for _, m := range runs {
			r := tagprune(t, cmd{args: strings.Fields(m[1])})
			assert.Equal(t, exitOK, r.code, "tagprune %s: %s", m[1], r.stderr)
			assert.NotEmpty(t, r.stdout, "tagprune %s", m[1])
			archived := false
			for _, f := range g.Archives[0].Files {
				ok, err := filepath.Match(f, m[2])
				require.NoError(t, err)
				archived = archived || ok
			}
			assert.True(t, archived, "%s goes into the archives", m[2])
		}
	})

	// -X with a name the linker does not know is silently ignored, so build
	// with the release's ldflags and look at what --version prints.
	t.Run("TheStampedVariablesExist", func(t *testing.T) {
		require.Len(t, b.Ldflags, 1)
		assert.Equal(t, []string{"main.commit", "main.version"}, stampedVariables(b.Ldflags[0]))
		const version, commit = "9.8.7", "0123456789abcdef0123456789abcdef01234567"
		values := map[string]string{".Version": version, ".FullCommit": commit, ".Commit": commit, ".ShortCommit": commit[:7]}
		ldflags := regexp.MustCompile(`\{\{\s*([^}\s]+)\s*\}\}`).ReplaceAllStringFunc(b.Ldflags[0], func(m string) string {
			name := regexp.MustCompile(`\{\{\s*([^}\s]+)\s*\}\}`).FindStringSubmatch(m)[1]
			v, ok := values[name]
			require.True(t, ok, "the test has no value for the template %s", m)
			return v
		})
		bin := filepath.Join(t.TempDir(), "tagprune")
		x := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, b.Main)
		x.Dir = repoRoot
		out, err := x.CombinedOutput()
		require.NoError(t, err, "%s", out)
		v, err := exec.Command(bin, "--version").Output()
		require.NoError(t, err)
		assert.Regexp(t, `^tagprune version v9\.8\.7 \(commit `+commit+`, go1\.\d+\S* \w+/\w+\)\n$`, string(v))
	})
}

// TestCICrossBuildsEveryReleaseTarget reads the cross-build loop of .ci/run:
// a release target that CI does not build could break unseen.
func TestCICrossBuildsEveryReleaseTarget(t *testing.T) {
	t.Parallel()
	ci, err := os.ReadFile(ciRunFile)
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^for target in ([^;]+); do\n(.*)\n`).FindSubmatch(ci)
	require.NotNil(t, m, ".ci/run has a loop 'for target in GOOS/GOARCH...; do'")
	assert.ElementsMatch(t, releaseTargets, strings.Fields(string(m[1])))
	assert.Contains(t, string(m[2]), "go build")
	assert.Contains(t, string(m[2]), "CGO_ENABLED=0")
}

// TestVersionOfASourceBuild checks what a build nobody stamped prints: the
// version it can find (dev, or the module's for go install) and the commit
// Go recorded, or "unknown" where there is none.
func TestVersionOfASourceBuild(t *testing.T) {
	t.Parallel()
	r := tagprune(t, cmd{args: []string{"--version"}})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `^tagprune version dev \(commit ([0-9a-f]{40}( \(modified\))?|unknown), go1\.\d+\S* \w+/\w+\)\n$`, r.stdout)
}

// TestFormatsAndCompatibility holds the README's "Formats and
// compatibility" to the code: the formatVersion it names is the one plans
// and reports are written with, and a plan of another formatVersion is
// refused with the message shown there, before any request.
func TestFormatsAndCompatibility(t *testing.T) {
	t.Parallel()
	readme := readFile(t, readmeFile)
	section := readme[strings.Index(readme, "## Formats and compatibility"):]
	section = section[:strings.Index(section[3:], "\n## ")+3]
	assert.Contains(t, section, fmt.Sprintf(`| plan (`+"`plan --out`, `--format json`"+`) | `+"`\"formatVersion\": %d`"+` | formatVersion %d only |`, reconcile.FormatVersion, reconcile.FormatVersion))
	assert.Contains(t, section, fmt.Sprintf(`| report (`+"`--report FILE.json`"+`) | `+"`\"formatVersion\": %d`"+` | formatVersion %d only |`, reconcile.FormatVersion, reconcile.FormatVersion))

	srv := emulator(t, exampleLibrary(t))
	dir := t.TempDir()
	copyFile(t, filepath.Join(planFixtures, "unknown-format-version.json"), filepath.Join(dir, "plan.json"))
	r := tagprune(t, cmd{args: []string{"apply", "plan.json", "--report", "r.json"}, env: apiEnv(srv), dir: dir})
	assert.Equal(t, exitError, r.code)
	assert.NotContains(t, r.stdout, "Apply complete")
	shown := regexp.MustCompile("(?s)```text\n(Error: reading plan plan.json: unsupported formatVersion.*?)\n```").FindStringSubmatch(section)
	require.NotNil(t, shown, "the README shows the message")
	assert.Equal(t, shown[1]+"\n", r.stderr, "the README shows the message as it is")
	assert.Zero(t, emulatorStats(t, srv).Requests.List, "refused before any request")
}
