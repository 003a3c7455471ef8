package english_test

import (
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tagprune/tagprune/internal/english"
)

func TestThousands(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {12345, "12,345"},
		{123456, "123,456"}, {1234567, "1,234,567"}, {-1, "-1"}, {-1000, "-1,000"}, {-123456, "-123,456"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.n), func(t *testing.T) {
			assert.Equal(t, tt.want, english.Thousands(tt.n))
		})
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"OneIsSingular", 1, "1 file"},
		{"ZeroIsPlural", 0, "0 files"},
		{"ManyIsPlural", 2, "2 files"},
		{"LargeHasSeparators", 1310, "1,310 files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, english.Plural(tt.n, "file", "files"))
		})
	}
}
