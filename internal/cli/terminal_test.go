package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestColorEnabled(t *testing.T) {
	tests := []struct {
		name                            string
		noColorFlag, noColorEnv, onTerm bool
		want                            bool
	}{
		{"TerminalIsColoured", false, false, true, true},
		{"PipeIsPlain", false, false, false, false},
		{"NoColorFlagWins", true, false, true, false},
		{"NoColorEnvWins", false, true, true, false},
		{"BothOffOnAPipe", true, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, colorEnabled(tt.noColorFlag, tt.noColorEnv, tt.onTerm))
		})
	}
}

func TestProgressEnabled(t *testing.T) {
	tests := []struct {
		name          string
		quiet, onTerm bool
		want          bool
	}{
		{"TerminalShowsProgress", false, true, true},
		{"QuietSilencesIt", true, true, false},
		{"PipeNeverShowsIt", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, progressEnabled(tt.quiet, tt.onTerm))
		})
	}
}
