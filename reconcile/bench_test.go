package reconcile

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"strconv"
	"testing"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

// BenchmarkBatch batches 1,000,000 changes of several shapes.
func BenchmarkBatch(b *testing.B) {
	const n = 1_000_000
	subsets := [][]string{{"a"}, {"b"}, {"c"}, {"d"}, {"a", "b"}, {"a", "c"}, {"b", "d"}, {"a", "b", "c", "d"}}
	shapes := []struct {
		name   string
		rules  []manifest.Rule
		change func(i int) Change
	}{
		{
			name:  "one removal set",
			rules: []manifest.Rule{{Name: "r", Paths: []string{"/"}, ForbiddenTags: []string{"x"}}},
			change: func(i int) Change {
				return Change{FileID: fmt.Sprintf("%024d", i), FilePath: fmt.Sprintf("/d/%07d.jpg", i), RemoveTags: []string{"x"}, Rules: []string{"r"}}
			},
		},
		{
			name:  "subsets of one forbidden set",
			rules: []manifest.Rule{{Name: "r", Paths: []string{"/"}, ForbiddenTags: []string{"a", "b", "c", "d"}}},
			change: func(i int) Change {
				return Change{FileID: fmt.Sprintf("%024d", i), FilePath: fmt.Sprintf("/d/%07d.jpg", i), RemoveTags: subsets[i%len(subsets)], Rules: []string{"r"}}
			},
		},
		{
			name: "a hundred rules over their own folders",
			rules: func() []manifest.Rule {
				var rs []manifest.Rule
				for k := range 100 {
					rs = append(rs, manifest.Rule{Name: "r" + strconv.Itoa(k), Paths: []string{fmt.Sprintf("/f%d/", k)}, ForbiddenTags: []string{"t" + strconv.Itoa(k), "shared"}})
				}
				return rs
			}(),
			change: func(i int) Change {
				k := i % 100
				tags := []string{"shared", "t" + strconv.Itoa(k)}
				if i%3 == 0 {
					tags = tags[:1]
				}
				return Change{FileID: fmt.Sprintf("%024d", i), FilePath: fmt.Sprintf("/f%d/%07d.jpg", k, i), RemoveTags: tags, Rules: []string{"r" + strconv.Itoa(k)}}
			},
		},
		{
			// Three tags of its own on each file, 13 characters each:
			// the limit, not the batch size, bounds the calls.
			name:  "an allowlist removing tags of each file's own",
			rules: []manifest.Rule{{Name: "a", Paths: []string{"/"}, AllowedTags: []string{"brand-*"}}},
			change: func(i int) Change {
				return Change{FileID: fmt.Sprintf("%024d", i), FilePath: fmt.Sprintf("/d/%07d.jpg", i), Rules: []string{"a"},
					RemoveTags: []string{fmt.Sprintf("s%07d-aaaa", i), fmt.Sprintf("s%07d-bbbb", i), fmt.Sprintf("s%07d-cccc", i)}}
			},
		},
		{
			name:  "a distinct removal set per file",
			rules: []manifest.Rule{{Name: "g", Paths: []string{"/"}, ForbiddenTags: []string{"t*"}}},
			change: func(i int) Change {
				return Change{FileID: fmt.Sprintf("%024d", i), FilePath: fmt.Sprintf("/d/%07d.jpg", i), RemoveTags: []string{"t" + strconv.Itoa(i)}, Rules: []string{"g"}}
			},
		},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			changes := make([]Change, n)
			for i := range changes {
				changes[i] = s.change(i)
			}
			rs, err := compileRules(s.rules)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var calls int
			for b.Loop() {
				calls = len(makeBatches(changes, rs, 50))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/file")
			b.ReportMetric(float64(calls), "calls")
		})
	}
}

// genLib is a Library of n generated files that streams them without
// storing them; it ignores the searchQuery, as a full scan reads everything.
// One file in a hundred carries a tag the benchmark's glob forbids.
type genLib struct{ n int }

var (
	genPlain  = []string{"product", "hero", "approved"}
	genBanned = []string{"product", "campaign-2023-fall", "hero"}
)

func (g genLib) List(ctx context.Context, p api.ListParams) iter.Seq2[api.File, error] {
	return func(yield func(api.File, error) bool) {
		var idBuf [24]byte
		for i := range g.n {
			tags := genPlain
			if i%100 == 0 {
				tags = genBanned
			}
			id := strconv.AppendInt(idBuf[:0], int64(i), 16)
			f := api.File{FileID: string(id), Type: "file", FilePath: "/products/shoes/" + string(id) + ".jpg", Tags: tags}
			if !yield(f, nil) {
				return
			}
		}
	}
}

func (g genLib) RemoveTags(ctx context.Context, ids, tags []string) (api.RemoveTagsResult, error) {
	return api.RemoveTagsResult{StatusCode: 200, Succeeded: ids}, nil
}

// BenchmarkPlan plans a glob rule (a full scan) over a large library and
// reports the heap in use with the plan held.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(n)+" files", func(b *testing.B) {
			lib := genLib{n: n}
			rules := []manifest.Rule{{Name: "old-campaigns", Paths: []string{"/"}, ForbiddenTags: []string{"campaign-2023-*", "sale2019"}}}
			b.ReportAllocs()
			var heap uint64
			for b.Loop() {
				p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Changes) != n/100 {
					b.Fatalf("planned %d changes, want %d", len(p.Changes), n/100)
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = max(heap, ms.HeapInuse)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/file")
			b.ReportMetric(float64(heap)/(1<<20), "MB-heap")
		})
	}
}

// BenchmarkPlanManyExactTags plans, offline (the in-process emulator, as
// --library does), a library of 4,000 files with 200 tags each against one
// rule forbidding 1,000 exact tags: every file carries 40 of them. The list
// of tags is too long for one URL, so every tagged file is read and judged
// locally; the cost is in checking each file's tags.
func BenchmarkPlanManyExactTags(b *testing.B) {
	files := make([]imagekittest.File, 4000)
	for i := range files {
		tags := make([]string, 200)
		for k := range tags {
			tags[k] = fmt.Sprintf("tag-%04d", (i*7+k*13)%5000)
		}
		id := fmt.Sprintf("%024x", i)
		files[i] = imagekittest.File{FileID: id, Type: "file", Name: id + ".jpg", FilePath: fmt.Sprintf("/lib/d%02d/%s.jpg", i%50, id), Tags: tags}
	}
	forbidden := make([]string, 1000)
	for k := range forbidden {
		forbidden[k] = fmt.Sprintf("tag-%04d", k*5)
	}
	rules := []manifest.Rule{{Name: "many", Paths: []string{"/"}, ForbiddenTags: forbidden}}
	h := imagekittest.NewHandler(files)
	client, err := api.New(api.WithBaseURL("http://127.0.0.1"), api.WithHandler(h), api.WithRate(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := MakePlan(context.Background(), client, rules, PlanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Changes) != len(files) || p.Summary.TagsToRemove != 40*len(files) {
			b.Fatalf("planned %d changes and %d tags", len(p.Changes), p.Summary.TagsToRemove)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(files)), "µs/file")
}
