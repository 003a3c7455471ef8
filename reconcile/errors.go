package reconcile

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/tagprune/tagprune/internal/inputfile"
)

// PlanFileError is a plan file that ReadPlan refuses: it cannot be read, is
// not a plan, is of another format version, or fails CheckConsistency (Err
// then wraps the *InconsistentPlanError). Making the plan again is the way
// out.
type PlanFileError struct {
	Path string
	Err  error
}

func (e *PlanFileError) Error() string { return readingError("plan", e.Path, e.Err) }

// readingError says why an input file of kind ("plan", "report") at path
// was refused, naming the file once: the errors of opening or reading it
// name it already.
func readingError(kind, path string, err error) string {
	var (
		fe *inputfile.Error
		pe *fs.PathError
	)
	if errors.As(err, &fe) || errors.As(err, &pe) {
		return "reading " + kind + ": " + err.Error()
	}
	return fmt.Sprintf("reading %s %s: %v", kind, path, err)
}

// Unwrap returns what was wrong with the file.
func (e *PlanFileError) Unwrap() error { return e.Err }

// ErrInconsistentPlan is matched (errors.Is) by the error of a plan that
// disagrees with itself: its changes or batches are not what its own rules
// give for the state it recorded (an *InconsistentPlanError).
var ErrInconsistentPlan = errors.New("plan is inconsistent")

// InconsistentPlanError lists what a plan gets wrong about itself. Nothing
// was sent. A plan made by MakePlan never fails so; one edited by hand or
// damaged on the way does.
type InconsistentPlanError struct {
	Problems []string // each names the file, rule or batch concerned
	More     int      // problems found beyond those listed
}

func (e *InconsistentPlanError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInconsistentPlan.Error())
	b.WriteString(" (edited or damaged?): ")
	b.WriteString(strings.Join(e.Problems, "; "))
	if e.More > 0 {
		fmt.Fprintf(&b, "; and %d more", e.More)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInconsistentPlan) true.
func (e *InconsistentPlanError) Is(target error) bool { return target == ErrInconsistentPlan }

// SourceMismatchError is returned by ApplySavedPlan for a plan made from a
// library other than the one it is applied to. Nothing was sent.
type SourceMismatchError struct {
	Plan, Target *Source
}

func (e *SourceMismatchError) Error() string {
	return fmt.Sprintf("the plan was made from %s but would be applied to %s: a plan applies only to the library it was made from",
		describeSource(e.Plan), describeSource(e.Target))
}

func describeSource(s *Source) string {
	switch {
	case s == nil || *s == (Source{}):
		return "an unrecorded source"
	case s.APIURL != "":
		return "the API at " + s.APIURL
	default:
		return "the library file " + s.Library
	}
}

// sameSource reports whether two sources name the same library: the same
// API URL (a trailing "/" aside) or the same snapshot file path (once
// cleaned). Two unrecorded sources are the same.
func sameSource(a, b *Source) bool {
	norm := func(s *Source) Source {
		if s == nil {
			return Source{}
		}
		n := Source{APIURL: strings.TrimRight(s.APIURL, "/"), Library: s.Library}
		if n.Library != "" {
			n.Library = filepath.Clean(n.Library)
		}
		return n
	}
	return norm(a) == norm(b)
}
