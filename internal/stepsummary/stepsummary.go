// Package stepsummary appends markdown to a GitHub Actions job summary: the
// file that GITHUB_STEP_SUMMARY names. Outside GitHub Actions it does nothing.
package stepsummary

import (
	"fmt"
	"os"
)

// Env names the file GitHub Actions shows as a job's summary.
const Env = "GITHUB_STEP_SUMMARY"

// Enabled reports whether GITHUB_STEP_SUMMARY names a file, so that callers
// can skip rendering a summary nobody will read.
func Enabled() bool { return os.Getenv(Env) != "" }

// Append appends markdown, followed by a newline when it lacks one, to the
// file GITHUB_STEP_SUMMARY names, creating it if needed. It does nothing
// and returns nil when the variable is unset or empty. Its error names the
// variable and the file.
func Append(markdown []byte) error {
	path := os.Getenv(Env)
	if path == "" {
		return nil
	}
	data := markdown
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data[:len(data):len(data)], '\n')
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err == nil {
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("append to the job summary that %s names: %w", Env, err)
	}
	return nil
}
