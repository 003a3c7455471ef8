package reconcile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/tagprune/tagprune/internal/atomicfile"
	"github.com/tagprune/tagprune/internal/inputfile"
)

// WritePlan writes p as an indented JSON plan file, atomically: a temporary
// file in the same directory is written, synced and renamed over path.
func WritePlan(path string, p *Plan) error {
	return writeAtomic(path, func(w io.Writer) error { return encodeJSON(w, p) })
}

// WriteReportJSON writes r as an indented JSON report, atomically.
func WriteReportJSON(path string, r *Report) error {
	return writeAtomic(path, func(w io.Writer) error { return encodeJSON(w, r) })
}

// WriteReport writes r to path in the format its extension names: .md is
// markdown (RenderReportMarkdown), .xml is JUnit XML (RenderJUnit), and
// anything else, .json included, is the JSON report. The file is written
// atomically.
func WriteReport(path string, r *Report) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".md", ".markdown":
		return writeAtomic(path, func(w io.Writer) error { return RenderReportMarkdown(w, r) })
	case ".xml":
		return writeAtomic(path, func(w io.Writer) error { return RenderJUnit(w, r) })
	default:
		return WriteReportJSON(path, r)
	}
}

// PlanReport returns the report of a plan run (plan --report): command
// "plan", the plan's summary, and every file to change with status
// StatusPending, since a plan changes nothing. It lists no batches.
func PlanReport(p *Plan) *Report {
	r := newReport("plan", p, p.Tool)
	r.StartedAt = p.CreatedAt
	r.FinishedAt = time.Now().UTC()
	r.Summary = p.Summary
	r.Summary.FilesPending = len(p.Changes)
	return r
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeAtomic writes the file at path through write, atomically (see
// atomicfile.Write), buffered.
func writeAtomic(path string, write func(io.Writer) error) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// MaxPlanFileSize is the largest plan file ReadPlan reads, in bytes (1 GiB:
// about two million changes).
const MaxPlanFileSize = 1 << 30

// ReadPlan reads a plan file written by WritePlan (or plan --format json).
// It reads only a regular file, of at most MaxPlanFileSize bytes, and
// refuses a file that is not JSON or is cut short, a formatVersion other
// than FormatVersion, and a plan that fails its own consistency checks (see
// CheckConsistency). Every refusal is a *PlanFileError naming the file; it
// wraps the *InconsistentPlanError of CheckConsistency.
func ReadPlan(path string) (*Plan, error) {
	refuse := func(format string, args ...any) (*Plan, error) {
		return nil, &PlanFileError{Path: path, Err: fmt.Errorf(format, args...)}
	}
	b, err := inputfile.ReadFile(path, MaxPlanFileSize)
	if err != nil {
		return nil, &PlanFileError{Path: path, Err: err}
	}
	var probe struct {
		FormatVersion *int `json:"formatVersion"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return refuse("not a valid plan file (truncated or not JSON?): %w", err)
	}
	if probe.FormatVersion == nil {
		return refuse("no formatVersion: this is not a tagprune plan file (supported formatVersion is %d)", FormatVersion)
	}
	if *probe.FormatVersion != FormatVersion {
		return refuse("unsupported formatVersion %d: this tagprune reads formatVersion %d", *probe.FormatVersion, FormatVersion)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return refuse("%w", err)
	}
	if err := CheckConsistency(&p); err != nil {
		return refuse("%w", err)
	}
	return &p, nil
}
