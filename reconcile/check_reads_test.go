package reconcile

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/internal/sorted"
	"github.com/tagprune/tagprune/manifest"
)

// gatedLib holds every List until want of them are in flight at once, so a
// check that reads one search after another never gets past its first; it
// records the most searches it saw in flight.
type gatedLib struct {
	*testLib
	want int

	mu       sync.Mutex
	inFlight int
	most     int
	opened   bool
	open     chan struct{}
}

func (g *gatedLib) List(ctx context.Context, p api.ListParams) iter.Seq2[api.File, error] {
	return func(yield func(api.File, error) bool) {
		g.mu.Lock()
		g.inFlight++
		g.most = max(g.most, g.inFlight)
		if g.inFlight == g.want && !g.opened {
			g.opened = true
			close(g.open)
		}
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.inFlight--
			g.mu.Unlock()
		}()
		select {
		case <-g.open:
		case <-ctx.Done():
			yield(api.File{}, ctx.Err())
			return
		}
		for f, err := range g.testLib.List(ctx, p) {
			if !yield(f, err) {
				return
			}
		}
	}
}

func TestSavedPlanChecksReadConcurrently(t *testing.T) {
	var files []imagekittest.File
	for i := range 3000 {
		files = append(files, file(fmt.Sprintf("%024x", i), fmt.Sprintf("/a/%05d.jpg", i), "x"))
	}
	q := withQuery(rule("q", []string{"/a/"}, nil, "x"), `name : "0"`)
	rules := []manifest.Rule{rule("r", []string{"/a/"}, nil, "x"), q}
	for _, conc := range []int{1, 3, 8} {
		t.Run(fmt.Sprintf("concurrency %d", conc), func(t *testing.T) {
			lib := newTestLib(t, files)
			p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
			require.NoError(t, err)
			p = savePlan(t, p)
			idSearches, err := idQueries(sortedIDs(p), []string{typeFile})
			require.NoError(t, err)
			require.Greater(t, len(idSearches), conc, "more searches than may run at once")

			g := &gatedLib{testLib: lib, want: conc, open: make(chan struct{})}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			chk, err := checkPlan(ctx, g, p, conc)
			require.NoError(t, err, "the check waits for %d searches in flight at once", conc)
			assert.Equal(t, len(files), chk.Checked)
			assert.Empty(t, chk.Stale)
			assert.Empty(t, chk.Missing)
			assert.Equal(t, conc, g.most, "at most %d searches in flight", conc)
		})
	}
}

// sortedIDs returns the plan's file ids, sorted.
func sortedIDs(p *Plan) []string {
	var ids []string
	for _, c := range p.Changes {
		ids = append(ids, c.FileID)
	}
	return sorted.Unique(ids)
}
