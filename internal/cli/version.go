package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Build says which build of tagprune is running. A release stamps both
// fields at link time; a build from source leaves them as main.go sets
// them ("dev" and empty), and --version then reports what the Go toolchain
// recorded in the binary.
type Build struct {
	Version string // "v1.2.3", or "dev" for a build from source
	Commit  string // the full git commit a release was built from, or ""
}

// devVersion is the version of a build nobody stamped.
const devVersion = "dev"

// resolveVersion returns v, or for a "dev" build installed as a module
// (go install github.com/tagprune/tagprune@v1.2.3) the module's version.
func resolveVersion(v string) string {
	if v != "" && v != devVersion {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return devVersion
}

// resolveCommit returns the stamped commit, else the revision the Go
// toolchain recorded (with " (modified)" for a build from a dirty tree),
// else "unknown": a module download or a build without VCS information
// has none.
func resolveCommit(stamped string) string {
	if stamped != "" {
		return stamped
	}
	commit, modified := "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	return commit + modified
}

// versionString is what --version prints after "tagprune version ": the
// version, the commit and the Go version and platform.
func versionString(b Build) string {
	return fmt.Sprintf("%s (commit %s, %s %s/%s)",
		resolveVersion(b.Version), resolveCommit(b.Commit), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
