package reconcile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tagprune/tagprune/api"
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

// ReadPlan reads a plan file written by WritePlan (or plan --format json).
// It refuses a file that is not JSON or is cut short, a formatVersion other
// than FormatVersion, and a plan that fails its own consistency checks (see
// CheckConsistency).
func ReadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading plan: %w", err)
	}
	var probe struct {
		FormatVersion *int `json:"formatVersion"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("reading plan %s: not a valid plan file (truncated or not JSON?): %w; run tagprune plan --out again", path, err)
	}
	if probe.FormatVersion == nil {
		return nil, fmt.Errorf("reading plan %s: no formatVersion: this is not a tagprune plan file (supported formatVersion is %d)", path, FormatVersion)
	}
	if *probe.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("reading plan %s: unsupported formatVersion %d: this tagprune reads formatVersion %d; make the plan again with this version", path, *probe.FormatVersion, FormatVersion)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("reading plan %s: %w; run tagprune plan --out again", path, err)
	}
	if err := CheckConsistency(&p); err != nil {
		return nil, fmt.Errorf("reading plan %s: %w", path, err)
	}
	return &p, nil
}

// ErrInconsistentPlan is matched (errors.Is) by the error of a plan that
// fails its own consistency checks.
var ErrInconsistentPlan = errors.New("plan is inconsistent")

// CheckConsistency checks that a plan agrees with itself: the rulesDigest
// matches the rules, rule names are unique, every change removes only tags
// forbidden by the rules it names (all of them in the plan) and present in
// its tagsBefore, every batch has 1..50 known files and tags forbidden for
// each of its files, and every removal of every change is covered by a
// batch. The error lists the problems found (at most ten) and matches
// ErrInconsistentPlan.
func CheckConsistency(p *Plan) error {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	if got := RulesDigest(p.Rules); p.RulesDigest != got {
		add("rulesDigest is %q but the rules hash to %q", p.RulesDigest, got)
	}
	names := map[string]int{}
	for i, r := range p.Rules {
		if r.Name == "" {
			add("rule %d has no name", i+1)
		}
		if _, dup := names[r.Name]; dup {
			add("rule name %q is used twice", r.Name)
		}
		names[r.Name] = i
		if len(r.ForbiddenTags) == 0 {
			add("rule %q forbids no tags", r.Name)
		}
		for _, t := range r.ForbiddenTags {
			if _, err := path.Match(t, ""); isGlob(t) && err != nil {
				add("rule %q: forbidden tag %q is not a valid glob", r.Name, t)
			}
		}
	}

	changes := make(map[string]*Change, len(p.Changes))
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.FileID == "" {
			add("change %d has no fileId", i+1)
			continue
		}
		if _, dup := changes[c.FileID]; dup {
			add("file %s is changed twice", c.FileID)
		}
		changes[c.FileID] = c
		if len(c.RemoveTags) == 0 {
			add("file %s (%s) removes no tags", c.FileID, c.FilePath)
		}
		for _, name := range c.Rules {
			if _, ok := names[name]; !ok {
				add("file %s names rule %q, which is not in the plan's rules", c.FileID, name)
			}
		}
		for _, t := range c.RemoveTags {
			if !slices.Contains(c.TagsBefore, t) {
				add("file %s removes tag %q, which is not in its tagsBefore", c.FileID, t)
			}
			ok := false
			for _, name := range c.Rules {
				if i, known := names[name]; known && p.Rules[i].Forbids(t) {
					ok = true
					break
				}
			}
			if !ok {
				add("file %s removes tag %q, which none of its rules %q forbids", c.FileID, t, c.Rules)
			}
		}
	}

	ix := newForbidIndex(p.Rules)
	covered := make(map[string][]string, len(p.Changes))
	for bi, b := range p.Batches {
		if len(b.FileIDs) == 0 || len(b.FileIDs) > api.MaxRemoveTagsFiles {
			add("batch %d has %d files: a call takes 1..%d", bi+1, len(b.FileIDs), api.MaxRemoveTagsFiles)
		}
		if len(b.Tags) == 0 {
			add("batch %d removes no tags", bi+1)
		}
		for _, id := range b.FileIDs {
			c := changes[id]
			if c == nil {
				add("batch %d names file %s, which is not one of the plan's changes", bi+1, id)
				continue
			}
			sel := ix.selecting(c)
			for _, t := range b.Tags {
				if !ix.forbids(sel, t) {
					add("batch %d would remove tag %q from file %s, where no rule forbids it", bi+1, t, id)
				}
			}
			covered[id] = append(covered[id], b.Tags...)
		}
	}
	for _, c := range p.Changes {
		for _, t := range c.RemoveTags {
			if !slices.Contains(covered[c.FileID], t) {
				add("file %s: no batch removes its tag %q", c.FileID, t)
			}
		}
	}
	if len(probs) == 0 {
		return nil
	}
	more := ""
	if len(probs) > 10 {
		more = fmt.Sprintf("; and %d more", len(probs)-10)
		probs = probs[:10]
	}
	return fmt.Errorf("%w (edited by hand or damaged? make it again with tagprune plan --out): %s%s", ErrInconsistentPlan, strings.Join(probs, "; "), more)
}
