package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tagprune/tagprune/internal/english"
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

// writeReports writes the run's reports. When one cannot be written, the
// JSON report goes to a fallback file instead (see fallbackReport), the
// summary is printed on stderr, and the error names both.
func (a *applier) writeReports(rep *reconcile.Report) error {
	err := writeReports(a.o.Reports, rep)
	if err == nil {
		return nil
	}
	path, ferr := fallbackReport(rep, time.Now())
	w := a.Err
	fmt.Fprintf(w, "The report could not be written where asked (%s).\n", strings.Join(a.o.Reports, ", "))
	if ferr == nil {
		fmt.Fprintf(w, "It was written to %s instead.\n", path)
	} else {
		fmt.Fprintf(w, "No fallback report could be written either (%v): here is every planned file.\n", ferr)
	}
	printSummary(w, rep, ferr != nil)
	if ferr != nil {
		return fmt.Errorf("%w; and the fallback report: %w", err, ferr)
	}
	return fmt.Errorf("%w; the report was written to %s instead", err, path)
}

// fallbackReport writes rep as JSON to a new file named
// tagprune-report-TIME-PID.json in the working directory, or in the temporary
// directory when the working directory takes no file, and returns its path.
func fallbackReport(rep *reconcile.Report, now time.Time) (string, error) {
	name := fmt.Sprintf("tagprune-report-%s-%d.json", now.UTC().Format("20060102T150405Z"), os.Getpid())
	var errs []error
	for _, dir := range []string{".", os.TempDir()} {
		p := filepath.Join(dir, name)
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		err := reconcile.WriteReportJSON(p, rep)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}

// printSummary writes the report's summary for people, and with files,
// every planned file and its status.
func printSummary(w io.Writer, rep *reconcile.Report, files bool) {
	s := rep.Summary
	fmt.Fprintf(w, "Summary: %s to change: %d changed, %d failed, %d missing, %d pending; %s%s removed.\n",
		english.Plural(s.FilesToChange, "file", "files"), s.FilesChanged, s.FilesFailed, s.FilesMissing, s.FilesPending,
		addedAndAITags(s), english.Plural(s.TagsRemoved, "tag", "tags"))
	fmt.Fprintf(w, "API requests: %d list, %d details, %d removeTags, %d addTags, %d removeAITags; %d retries, %d rate-limited.\n",
		s.APICalls.List, s.APICalls.Details, s.APICalls.RemoveTags, s.APICalls.AddTags, s.APICalls.RemoveAITags, s.Retries, s.RateLimited)
	if rep.Error != "" {
		fmt.Fprintf(w, "It ended with: %s\n", rep.Error)
	}
	if !files {
		return
	}
	for _, f := range rep.Files {
		line := fmt.Sprintf("  %-8s %s %s remove %q", f.Status, f.FileID, f.FilePath, f.RemoveTags)
		if len(f.AddTags) > 0 {
			line += fmt.Sprintf(" add %q", f.AddTags)
		}
		if len(f.RemoveAITags) > 0 {
			line += fmt.Sprintf(" remove AITags %q", f.RemoveAITags)
		}
		if f.Error != "" {
			line += ": " + f.Error
		}
		fmt.Fprintln(w, line)
	}
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
