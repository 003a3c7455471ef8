package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tagprune/tagprune/internal/stepsummary"
	"github.com/tagprune/tagprune/reconcile"
)

// checkReportPaths refuses report paths whose format is unknown, before any
// request is sent.
func checkReportPaths(paths []string) error {
	for _, p := range paths {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".json", ".md", ".xml":
		default:
			return fmt.Errorf("--%s %s: the file name must end in .json, .md (markdown) or .xml (JUnit)", flagReport, p)
		}
	}
	return nil
}

// writeReports writes r to every path, in the format its extension names,
// and returns every failure.
func writeReports(paths []string, r *reconcile.Report) error {
	var errs []error
	for _, p := range paths {
		if err := reconcile.WriteReport(p, r); err != nil {
			errs = append(errs, fmt.Errorf("write report %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// stepSummary appends what render writes to the GitHub Actions job summary
// when there is one; it renders nothing otherwise.
func stepSummary(render func(io.Writer) error) error {
	if !stepsummary.Enabled() {
		return nil
	}
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return err
	}
	return stepsummary.Append(b.Bytes())
}
