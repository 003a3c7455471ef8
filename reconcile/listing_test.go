package reconcile

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

// TestALongTagListReadsOnlyCandidates plans a rule forbidding 1,000 exact
// tags over a 100,000-file library, every file of which carries tags, and
// checks on the emulator's request log that the plan read candidates only:
// every search asks for `tags IN`, and the list calls are the pages of
// what those searches match (plus the pages read ahead past the end of
// each), far from the 100 pages of a read of every tagged file.
func TestALongTagListReadsOnlyCandidates(t *testing.T) {
	const n, every = 100_000, 40
	forbidden := make([]string, 1000)
	for i := range forbidden {
		forbidden[i] = fmt.Sprintf("retired-campaign-%04d", i)
	}
	files := make([]imagekittest.File, n)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range files {
		tags := []string{"product", fmt.Sprintf("sku-%05d", i%7919)}
		if i%every == 0 { // a candidate: one or two forbidden tags, from anywhere in the list
			tags = append(tags, forbidden[(i/every*37)%1000])
			if i%(3*every) == 0 {
				tags = append(tags, forbidden[(i/every*611)%1000])
			}
		}
		f := file(fmt.Sprintf("%024x", i+1), fmt.Sprintf("/shop/d%02d/%06d.jpg", i%23, i), tags...)
		if i%(every*10) == 7 { // an AITag that `tags IN` matches, which no rule removes
			f = withAI(f, forbidden[i%1000])
		}
		f.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		files[i] = f
	}
	rules := []manifest.Rule{rule("retired", []string{"/shop/"}, nil, forbidden...)}
	lib := newTestLib(t, files)
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)

	var want []string
	for _, f := range files {
		if slices.ContainsFunc(f.Tags, func(tag string) bool { return slices.Contains(forbidden, tag) }) {
			want = append(want, f.FileID)
		}
	}
	var got []string
	for _, c := range p.Changes {
		got = append(got, c.FileID)
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got, "the plan changes exactly the files that carry a forbidden tag")

	candidatePages := (len(want) + 999) / 1000
	reqs := lib.handler.Load().Requests()
	matched := map[string]int{}
	for _, rq := range reqs {
		require.Equal(t, "GET /v1/files", rq.Method+" "+rq.Path, "a plan only lists")
		v, err := url.ParseQuery(rq.Query)
		require.NoError(t, err)
		q := v.Get("searchQuery")
		require.Contains(t, q, "tags IN [", "never a read of every tagged file")
		require.True(t, strings.HasSuffix(q, ` AND type = "file"`), q)
		if _, ok := matched[q]; ok {
			continue
		}
		pq, err := imagekittest.ParseQuery(q, time.Now())
		require.NoError(t, err)
		for i := range files {
			if pq.Match(&files[i]) {
				matched[q]++
			}
		}
	}
	require.Greater(t, len(matched), 1, "the tags do not fit one URL: several searches")
	// Each search costs its pages, one more when it ends on a full page,
	// and at most 3 pages read ahead past its end.
	bound := 0
	for _, m := range matched {
		bound += m/1000 + 1 + 3
	}
	assert.LessOrEqual(t, len(reqs), bound, "list calls: the pages of the candidates")
	assert.Less(t, len(reqs), candidatePages+4*len(matched), "list calls against %d candidate pages", candidatePages)
	assert.Less(t, len(reqs), n/1000/4, "far from the %d pages of every tagged file", n/1000)
	t.Logf("%d list calls for %d searches, %d files to change (%d candidate pages); a read of every tagged file takes %d",
		len(reqs), len(matched), len(want), candidatePages, n/1000+1)
}
