// Package english formats counts for people: thousands separators and the
// singular or plural noun. It knows nothing of what is counted.
package english

import "strconv"

// Thousands formats n with a comma between groups of three digits, such as
// 1,234,567 or -1,000.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return sign + string(out)
}

// Plural formats n with thousands separators, then one when n is 1 and many
// otherwise: Plural(1, "file", "files") is "1 file", Plural(1234, ...) is
// "1,234 files".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Thousands(n) + " " + many
}
