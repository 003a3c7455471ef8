package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// resolveVersion returns v, or for a "dev" build installed as a module
// (go install github.com/tagprune/tagprune@v1.2.3) the module's version.
func resolveVersion(v string) string {
	if v != "dev" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return v
}

// versionString is what --version prints: the version, the commit and the
// Go version.
func versionString(version string) string {
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
	return fmt.Sprintf("%s (commit %s%s, %s %s/%s)", version, commit, modified, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
