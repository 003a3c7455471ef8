package imagekittest_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// expectedPage computes a page the slow, obvious way: every file of the
// library in library order, filtered, sorted, cut.
func expectedPage(t *testing.T, files []imagekittest.File, query, sort string, skip, limit int) []string {
	t.Helper()
	q, err := imagekittest.ParseQuery(query, now)
	require.NoError(t, err)
	type item struct {
		f   imagekittest.File
		pos int
	}
	var items []item
	for i, f := range files {
		if q.Match(&f) {
			items = append(items, item{f, i})
		}
	}
	field, desc := strings.TrimPrefix(strings.TrimPrefix(sort, "ASC_"), "DESC_"), strings.HasPrefix(sort, "DESC_")
	byField := func(a, b imagekittest.File) int {
		switch field {
		case "NAME":
			return cmp.Compare(a.Name, b.Name)
		case "SIZE":
			return cmp.Compare(a.Size, b.Size)
		case "UPDATED":
			return a.UpdatedAt.Compare(b.UpdatedAt)
		}
		return 0
	}
	slices.SortFunc(items, func(a, b item) int {
		c := cmp.Or(byField(a.f, b.f), a.f.CreatedAt.Compare(b.f.CreatedAt), cmp.Compare(a.pos, b.pos))
		if desc {
			return -c
		}
		return c
	})
	out := []string{}
	for _, it := range items[min(skip, len(items)):min(skip+limit, len(items))] {
		out = append(out, it.f.FileID)
	}
	return out
}

// TestPagingAgainstABruteForceOracle pages through random listings, in order
// and out of order (as a client that reads ahead does), with changes to the
// library between some pages. Every page must be the page the API's skip
// and limit define on the library as it is at that moment, whatever the
// emulator remembers of earlier pages.
func TestPagingAgainstABruteForceOracle(t *testing.T) {
	files := imagekittest.GenerateLibrary(1200, 5)
	for i := range files {
		files[i].CreatedAt = files[i].CreatedAt.Truncate(48 * 3600e9) // ties in createdAt
	}
	h := imagekittest.NewHandler(files, imagekittest.WithClock(func() time.Time { return now }))
	rng := rand.New(rand.NewPCG(3, 4))
	queries := []string{
		`path : "/"`,
		`path : "/products/"`,
		`tags IN ["hero", "draft", "Shoe"]`,
		`tags IN ["sale2019"] AND path : "/campaigns/"`,
		`tags EXISTS AND type = "file"`,
		`name HAS "shoes" OR tags IN ["legacy"]`,
		`id IN [` + quotedIDs(files[:200]) + `]`,
	}
	sorts := []string{"ASC_CREATED", "DESC_CREATED", "ASC_NAME", "DESC_SIZE", "DESC_UPDATED"}
	pages := 0
	current := h.Files()
	for round := range 25 {
		query, sort := queries[rng.IntN(len(queries))], sorts[rng.IntN(len(sorts))]
		limit := 20 + rng.IntN(250)
		var skips []int
		for s := 0; s < 1200; s += limit {
			skips = append(skips, s)
		}
		// Read ahead: sometimes swap neighbouring pages.
		for i := 0; i+1 < len(skips); i++ {
			if rng.IntN(4) == 0 {
				skips[i], skips[i+1] = skips[i+1], skips[i]
			}
		}
		for _, skip := range skips {
			if rng.IntN(10) == 0 {
				mutate(t, h, rng)
				current = h.Files()
			}
			want := expectedPage(t, current, query, sort, skip, limit)
			got := listIDs(t, h, url.Values{"searchQuery": {query}, "sort": {sort}, "skip": {strconv.Itoa(skip)}, "limit": {strconv.Itoa(limit)}})
			require.Equal(t, want, got, "round %d: %s sorted %s, skip %d, limit %d", round, query, sort, skip, limit)
			pages++
		}
	}
	require.Greater(t, pages, 120)
}

// mutate changes the library the way a client does between pages.
func mutate(t *testing.T, h *imagekittest.Handler, rng *rand.Rand) {
	t.Helper()
	files := h.Files()
	if len(files) == 0 {
		return
	}
	f := files[rng.IntN(len(files))]
	switch rng.IntN(3) {
	case 0:
		call(t, h, "POST", "/v1/files/addTags", map[string]any{"fileIds": []string{f.FileID}, "tags": []string{"hero"}}, nil)
	case 1:
		call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{f.FileID}, "tags": []string{"hero", "draft"}}, nil)
	default:
		call(t, h, "DELETE", "/v1/files/"+f.FileID, nil, nil)
	}
}

func quotedIDs(files []imagekittest.File) string {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = fmt.Sprintf("%q", f.FileID)
	}
	return strings.Join(q, ",")
}
