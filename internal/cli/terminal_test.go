package cli

import (
	"testing"
	"time"

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

func TestRateMeterFollowsWhatIsDone(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	m := rateMeter{window: 10 * time.Second}
	m.add(t0, 0)
	assert.Zero(t, m.rate(t0), "no time has passed")

	// 50 files every half second: 100 files per second, whenever it is asked.
	for k := 1; k <= 60; k++ {
		m.add(at(0.5*float64(k)), 50*k)
		assert.InDelta(t, 100, m.rate(at(0.5*float64(k))), 0.01, "after %d calls", k)
		between := m.rate(at(0.5*float64(k) + 0.25))
		assert.True(t, between > 66 && between <= 100, "between two calls it stays near 100, got %.1f", between)
		if k >= 20 {
			assert.Greater(t, between, 95.0, "with a full window behind it, it hardly moves")
		}
	}
	// Then nothing ends: the rate falls, it does not stay at 100.
	assert.InDelta(t, 50, m.rate(at(30+5)), 0.01, "half the window without progress")
	assert.InDelta(t, 0, m.rate(at(30+10)), 0.01, "a whole window without progress")
	assert.InDelta(t, 0, m.rate(at(30+20)), 0.01)
	// Work resumes at 10 files per second.
	for k := 1; k <= 30; k++ {
		m.add(at(50+float64(k)), 3000+10*k)
	}
	assert.InDelta(t, 10, m.rate(at(80)), 0.01)
	assert.LessOrEqual(t, len(m.samples), 12, "only the window is kept")
}
