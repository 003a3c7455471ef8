package ansi_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tagprune/tagprune/internal/ansi"
)

func TestStyle(t *testing.T) {
	tests := []struct {
		name string
		on   bool
		want string
	}{
		{"OnWrapsTheText", true, "\x1b[32mdone\x1b[0m"},
		{"OffLeavesItPlain", false, "done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ansi.Style(tt.on, ansi.Green, "done"))
		})
	}
}
