package reconcile

import (
	"fmt"
	"os"
)

// StepSummaryEnv names the file GitHub Actions shows as a job's summary.
const StepSummaryEnv = "GITHUB_STEP_SUMMARY"

// AppendStepSummary appends markdown, followed by a newline if it lacks one,
// to the file named by GITHUB_STEP_SUMMARY, creating the file if needed.
// When the variable is unset or empty it does nothing and returns nil.
// It returns an error naming the file when it cannot be opened or written.
func AppendStepSummary(markdown []byte) error {
	path := os.Getenv(StepSummaryEnv)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open step summary %s: %w (check %s)", path, err, StepSummaryEnv)
	}
	data := markdown
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data[:len(data):len(data)], '\n')
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("append to step summary %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close step summary %s: %w", path, err)
	}
	return nil
}
