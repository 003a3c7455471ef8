package reconcile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
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

// writeAtomic writes a file through write into a temporary file beside path
// and renames it over path, so readers see the old file or the new one,
// never a part.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
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
	b, err := readRegular(path, MaxPlanFileSize, "plan file")
	if err != nil {
		return refuse("%w", err)
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

// readRegular reads a whole input file that must be a regular file of at
// most limit bytes; kind names such a file in the message ("plan file"). It
// looks at the file before opening it, so that a named pipe is refused
// instead of blocking the read. Every input file of reconcile (plans,
// reports) is read through it.
func readRegular(path string, limit int64, kind string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s, not a regular file", fileKind(fi.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() { // replaced since it was looked at
		return nil, fmt.Errorf("%s, not a regular file", fileKind(fi.Mode()))
	}
	tooBig := fmt.Errorf("the file is larger than %s, the most a %s may hold", sizeText(limit), kind)
	if fi.Size() > limit {
		return nil, tooBig
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit { // it grew since it was looked at
		return nil, tooBig
	}
	return b, nil
}

// fileKind says in words what a file that is not a regular file is.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "an irregular file"
}

// sizeText says a size in bytes in the largest whole binary unit.
func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
