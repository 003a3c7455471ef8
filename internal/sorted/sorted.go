// Package sorted handles sorted lists without duplicates, the form tagprune
// keeps tags, ids and rule indexes in: union, de-duplication, sorted keys.
package sorted

import (
	"cmp"
	"maps"
	"slices"
)

// Union returns the sorted union of a and b, two sorted lists without
// duplicates, in one pass, as a new list: it never changes or returns
// either.
func Union[T cmp.Ordered](a, b []T) []T {
	if len(b) == 0 {
		return slices.Clone(a)
	}
	if len(a) == 0 {
		return slices.Clone(b)
	}
	out := make([]T, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// Unique returns a sorted copy of s without duplicates; s is not changed.
func Unique[T cmp.Ordered](s []T) []T {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// Keys returns the keys of m, sorted.
func Keys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
