package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
)

func TestLongRetryWaitIsLogged(t *testing.T) {
	tests := []struct {
		name  string
		first http.HandlerFunc
		want  []string // substrings of the warn line; none means no line
	}{
		{"RateLimitWaitOfFiveSecondsSaysWhy",
			answer(429, errBody("Too many requests"), "X-RateLimit-Reset", "5000"),
			[]string{"level=WARN", `msg="waiting 5s for the rate limit of remove tags (HTTP 429)"`, `reason="rate limit"`, "wait=5s", "attempt=1", "path=/v1/files/removeTags"}},
		{"ShortRateLimitWaitStaysQuiet",
			answer(429, errBody("Too many requests"), "X-RateLimit-Reset", "700"),
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			c, _, _ := serve(t, []http.HandlerFunc{tt.first, okRemove}, api.WithLogger(logger), api.WithPrivateKey(canaryKey))
			_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
			require.NoError(t, err)
			if tt.want == nil {
				assert.Empty(t, logs.String())
				return
			}
			for _, w := range tt.want {
				assert.Contains(t, logs.String(), w)
			}
			assertNoKey(t, err0{}, logs.String())
		})
	}
}

func TestAHookTakesOverTheWarnLine(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var hook hookLog
	limited := answer(429, errBody("Too many requests"), "X-RateLimit-Reset", "5000")
	c, _, _ := serve(t, []http.HandlerFunc{limited, okRemove}, api.WithLogger(logger), api.WithWaitHook(hook.add))
	_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
	require.NoError(t, err)
	assert.Empty(t, logs.String(), "shown once, by the hook's owner")
	assert.Len(t, hook.Waits(), 2)
}
