package reconcile

import (
	"context"

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
