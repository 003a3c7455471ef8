package imagekittest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

func TestSettings(t *testing.T) {
	var names []string
	for _, s := range imagekittest.Settings() {
		names = append(names, s.Name)
		assert.NotEmpty(t, s.Usage, "setting %s says what it does", s.Name)
		if s.Default != "" {
			var cfg imagekittest.Config
			assert.NoError(t, cfg.Set(s.Name, s.Default), "the default of %s is a value of it", s.Name)
		}
	}
	assert.Equal(t, []string{
		"private-key", "rate-limit", "rate-limit-window", "latency", "fail-rate", "status-rate", "partial-rate",
		"fail-file", "drop-rate", "hang-rate", "spike-rate", "spike-latency", "ignore-skip", "folders-in-search", "max-tags-length", "seed",
	}, names)
	t.Run("SettingsIsACopy", func(t *testing.T) {
		s := imagekittest.Settings()
		s[0].Name = "changed"
		assert.Equal(t, "private-key", imagekittest.Settings()[0].Name)
	})
}

func TestConfigSetRefusesBadValues(t *testing.T) {
	tests := []struct {
		name, value string
		want        string
	}{
		{"no-such-setting", "1", `no emulator setting "no-such-setting": the settings are private-key, rate-limit`},
		{"rate-limit", "-1", `--rate-limit "-1": want a whole number from 0`},
		{"rate-limit", "fast", `--rate-limit "fast"`},
		{"fail-rate", "1.5", `--fail-rate "1.5": want a fraction between 0 and 1`},
		{"partial-rate", "-0.1", "fraction"},
		{"latency", "-1s", `--latency "-1s": want a duration from 0`},
		{"latency", "soon", "duration"},
		{"rate-limit-window", "5", "N/DURATION"},
		{"rate-limit-window", "0/1s", "N/DURATION"},
		{"rate-limit-window", "5/0s", "at least 1ms"},
		{"status-rate", "418=0.1", "408, 409, 500, 502, 503, 504"},
		{"status-rate", "409=2", "fraction"},
		{"ignore-skip", "maybe", `--ignore-skip "maybe"`},
		{"seed", "x", `--seed "x": want a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			var cfg imagekittest.Config
			err := cfg.Set(tt.name, tt.value)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, cfg.Options(), "a refused value is not kept")
		})
	}
}

// answers sends the same requests to a handler and returns the statuses
// and rate-limit headers it gave.
func answers(t *testing.T, opts ...imagekittest.Option) []string {
	t.Helper()
	h := imagekittest.NewHandler(library(), opts...)
	var out []string
	for _, target := range []string{"/v1/files?limit=1", "/v1/files?limit=1", "/v1/files?limit=1&skip=3", "/v1/files/f1/details"} {
		rec := call(t, h, "GET", target, nil, nil, "Authorization", "Basic "+base64("key:"))
		out = append(out, http.StatusText(rec.Code)+" "+rec.Header().Get("X-RateLimit-Limit")+" "+rec.Header().Get("X-RateLimit-Interval")+" "+rec.Body.String()[:min(rec.Body.Len(), 40)])
	}
	return out
}

func TestConfigOptionsAreTheWithOptions(t *testing.T) {
	tests := []struct {
		name     string
		settings [][2]string
		with     []imagekittest.Option
	}{
		{"PrivateKey", [][2]string{{"private-key", "other"}}, []imagekittest.Option{imagekittest.WithPrivateKey("other")}},
		{"RateLimit", [][2]string{{"rate-limit", "1"}}, []imagekittest.Option{imagekittest.WithRateLimit(1)}},
		{"Window", [][2]string{{"rate-limit-window", "2/1h"}}, []imagekittest.Option{imagekittest.WithRateLimitWindow(2, time.Hour)}},
		{"IgnoreSkip", [][2]string{{"ignore-skip", "true"}}, []imagekittest.Option{imagekittest.WithIgnoreSkip(true)}},
		{"FailRate", [][2]string{{"fail-rate", "0.5"}, {"seed", "9"}}, []imagekittest.Option{imagekittest.WithFailRate(0.5), imagekittest.WithSeed(9)}},
		{"StatusRate", [][2]string{{"status-rate", "409=0.5"}}, []imagekittest.Option{imagekittest.WithStatusRate(http.StatusConflict, 0.5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg imagekittest.Config
			for _, s := range tt.settings {
				require.NoError(t, cfg.Set(s[0], s[1]))
			}
			assert.Equal(t, answers(t, tt.with...), answers(t, cfg.Options()...))
			assert.NotEqual(t, answers(t), answers(t, cfg.Options()...), "the setting changes something")
		})
	}
	t.Run("AListSettingAddsEachValue", func(t *testing.T) {
		var cfg imagekittest.Config
		require.NoError(t, cfg.Set("fail-file", "f1"))
		require.NoError(t, cfg.Set("fail-file", "f2"))
		h := imagekittest.NewHandler(library(), cfg.Options()...)
		var got updateAnswer
		call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f1", "f2", "f5"}, "tags": []string{"sale2019"}}, &got)
		assert.Equal(t, []string{"f5"}, got.Updated)
		assert.Len(t, got.Errors, 2)
	})
	t.Run("FoldersInSearch", func(t *testing.T) {
		var cfg imagekittest.Config
		require.NoError(t, cfg.Set("folders-in-search", "true"))
		h := imagekittest.NewHandler(library(), cfg.Options()...)
		assert.Contains(t, kinds(search(t, h, url.Values{"searchQuery": {`path : "/"`}})), "folder:/blog")
	})
}
