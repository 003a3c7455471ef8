package reconcile

import (
	"context"
	"io"

	"github.com/tagprune/tagprune/manifest"
)

// MakePlan reads what the rules need from lib (observe), computes remove(f)
// for every file (diff) and groups the removals into calls (batch).
func MakePlan(ctx context.Context, lib Library, rules []manifest.Rule, opts PlanOptions) (*Plan, error) {
	panic("todo")
}

// Apply sends the plan's batches and returns a report of every planned file.
// The report is returned even when err is not nil.
func Apply(ctx context.Context, lib Library, plan *Plan, opts ApplyOptions) (*Report, error) {
	panic("todo")
}

// RenderMarkdown writes a pull-request summary of a plan, never longer than
// GitHub's comment limit.
func RenderMarkdown(w io.Writer, p *Plan) error { panic("todo") }
