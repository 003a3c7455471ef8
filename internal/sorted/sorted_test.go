package sorted_test

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tagprune/tagprune/internal/sorted"
)

func TestUnion(t *testing.T) {
	tests := []struct {
		name string
		a, b []int
		want []int
	}{
		{name: "BothEmpty", want: nil},
		{name: "EmptyBGivesA", a: []int{1, 3}, want: []int{1, 3}},
		{name: "EmptyAGivesB", b: []int{2}, want: []int{2}},
		{name: "Interleaved", a: []int{1, 3, 5}, b: []int{2, 3, 6}, want: []int{1, 2, 3, 5, 6}},
		{name: "Equal", a: []int{1, 2}, b: []int{1, 2}, want: []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sorted.Union(tt.a, tt.b)
			assert.Equal(t, tt.want, got)
			if len(got) > 0 && len(tt.a) > 0 {
				assert.NotSame(t, &tt.a[0], &got[0], "a new list, never a")
			}
			if len(got) > 0 && len(tt.b) > 0 {
				assert.NotSame(t, &tt.b[0], &got[0], "a new list, never b")
			}
		})
	}
}

// Union agrees with sorting and compacting the concatenation, and leaves
// its inputs as they were.
func TestUnionAgreesWithSortAndCompact(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for range 500 {
		a, b := sorted.Unique(randomInts(rng)), sorted.Unique(randomInts(rng))
		a0, b0 := slices.Clone(a), slices.Clone(b)
		want := sorted.Unique(append(slices.Clone(a), b...))
		got := sorted.Union(a, b)
		if len(want) == 0 {
			assert.Empty(t, got)
		} else {
			assert.Equal(t, want, got)
		}
		assert.Equal(t, a0, a)
		assert.Equal(t, b0, b)
	}
}

func randomInts(rng *rand.Rand) []int {
	out := make([]int, rng.Intn(8))
	for i := range out {
		out[i] = rng.Intn(10)
	}
	return out
}

func TestUniqueDoesNotChangeItsInput(t *testing.T) {
	in := []string{"b", "a", "b"}
	assert.Equal(t, []string{"a", "b"}, sorted.Unique(in))
	assert.Equal(t, []string{"b", "a", "b"}, in)
}

func TestKeys(t *testing.T) {
	assert.Equal(t, []string{"a", "b", "c"}, sorted.Keys(map[string]int{"c": 1, "a": 2, "b": 3}))
	assert.Empty(t, sorted.Keys(map[string]bool{}))
}
