package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
)

// The client against the emulator in the modes that make it behave as the
// real API may: searches that return folders and file versions, several
// rate-limit windows, 408 and 409 answers, and request ids.

// nestedLibrary returns n files spread over many folders under /a/ (so
// that a search over /a/ without a type condition returns more folders
// than a small page holds), one of them also present as an older version.
func nestedLibrary(n int) []imagekittest.File {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	files := make([]imagekittest.File, 0, n+1)
	for i := range n {
		name := fmt.Sprintf("f%03d.jpg", i)
		files = append(files, imagekittest.File{
			FileID: fmt.Sprintf("5e%022x", i), Type: "file", Name: name,
			FilePath: fmt.Sprintf("/a/%d/%d/%s", i%7, i%3, name), Tags: []string{"t"},
			FileType: "image", CreatedAt: t0.Add(time.Duration(i) * time.Minute), UpdatedAt: t0,
		})
	}
	old := files[0]
	old.FileID, old.Type = fmt.Sprintf("5f%022x", 0), "file-version"
	return append(files, old)
}

func TestEmulatorSearchesWithFoldersAndVersions(t *testing.T) {
	files := nestedLibrary(40)
	c, srv := emulatorClient(t, files, []imagekittest.Option{imagekittest.WithFoldersInSearch(true)}, api.WithListPrefetch(1))
	ctx := context.Background()

	first, err := c.ListPage(ctx, api.ListParams{SearchQuery: `path : "/a/"`, Limit: 5})
	require.NoError(t, err)
	require.Equal(t, 5, first.Objects)
	require.Empty(t, first.Files, "the first page holds folders only: the emulator answers as the API may")

	var got []string
	for f, err := range c.List(ctx, api.ListParams{SearchQuery: `path : "/a/"`, Limit: 5}) {
		require.NoError(t, err)
		require.NotEmpty(t, f.FileID)
		require.Equal(t, "file", f.Type)
		got = append(got, f.FileID)
	}
	var want []string
	for _, f := range files[:40] {
		want = append(want, f.FileID)
	}
	assert.ElementsMatch(t, want, got, "every file once; no folder, no file version")
	lists := srv.Handler().Stats().Requests.List
	assert.Equal(t, lists, c.Stats().List, "pages full of folders were read on, not taken for the end")

	var typed []string
	for f, err := range c.List(ctx, api.ListParams{SearchQuery: `path : "/a/" AND type = "file"`, Limit: 5}) {
		require.NoError(t, err)
		typed = append(typed, f.FileID)
	}
	assert.Equal(t, got, typed, "the same files, in the same order, as a search that asks for files")
	assert.Less(t, c.Stats().List-lists, lists, "and in fewer pages")
}

// windowsSeen returns the X-RateLimit-Interval values of the answers
// recorded.
func windowsSeen(log *answerLog) map[string]bool {
	seen := map[string]bool{}
	for _, a := range log.Answers() {
		seen[a.header.Get("X-RateLimit-Interval")] = true
	}
	return seen
}

// recordedClient returns a client of srv whose answers are recorded.
func recordedClient(t *testing.T, srv *imagekittest.Server, opts ...api.Option) (*api.Client, *answerLog) {
	t.Helper()
	log := &answerLog{}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	c, err := api.New(append([]api.Option{api.WithBaseURL(srv.URL),
		api.WithHTTPClient(&http.Client{Transport: &recordingTransport{base: tr, log: log}})}, opts...)...)
	require.NoError(t, err)
	return c, log
}

func TestEmulatorWithTwoRateLimitWindows(t *testing.T) {
	ctx := context.Background()
	t.Run("AShortWindowStricterThanThePerSecondOneSetsThePace", func(t *testing.T) {
		t.Parallel()
		srv := imagekittest.NewServer(emulatorLibrary(3), imagekittest.WithRateLimit(50), imagekittest.WithRateLimitWindow(10, 2*time.Second))
		t.Cleanup(srv.Close)
		c, log := recordedClient(t, srv)
		for range 12 {
			_, err := c.ListPage(ctx, api.ListParams{})
			require.NoError(t, err)
		}
		assert.True(t, windowsSeen(log)["2000"], "the answers described the 2s window")
		assert.Zero(t, srv.Handler().Stats().RateLimited, "the client kept within both windows")
		assert.Zero(t, c.Stats().RateLimited)
		rps, _ := c.Pacing(api.OpList)
		assert.LessOrEqual(t, rps, 10/2.0, "paced by the stricter window, not by the 50 per second one")
	})
	t.Run("ALongWindowIsCountedNotSpreadOverItsInterval", func(t *testing.T) {
		t.Parallel()
		srv := imagekittest.NewServer(emulatorLibrary(3), imagekittest.WithRateLimit(20), imagekittest.WithRateLimitWindow(15, 15*time.Minute))
		t.Cleanup(srv.Close)
		c, log := recordedClient(t, srv, api.WithRetry(api.RetryPolicy{RateLimitWait: time.Second}))
		for range 15 {
			_, err := c.ListPage(ctx, api.ListParams{})
			require.NoError(t, err)
		}
		assert.True(t, windowsSeen(log)[strconv.Itoa(int((15*time.Minute).Milliseconds()))], "the answers described the 15-minute window")
		rps, _ := c.Pacing(api.OpList)
		assert.GreaterOrEqual(t, rps, 0.9*api.DefaultRate, "15 per 15 minutes does not slow the pace to one request a minute")

		_, err := c.ListPage(ctx, api.ListParams{})
		require.ErrorIs(t, err, api.ErrRateLimited, "the window is used up for 15 minutes, longer than the cap on waits")
		assert.ErrorIs(t, err, api.ErrWaitTooLong)
		assert.Contains(t, err.Error(), "15 requests per 15m0s")
		assert.Equal(t, int64(15), srv.Handler().Stats().Requests.List, "the sixteenth request was never sent")
		assert.Zero(t, srv.Handler().Stats().RateLimited)
	})
}

// statusesAnswered returns how many requests the emulator answered with
// each status.
func statusesAnswered(srv *imagekittest.Server) map[int]int {
	out := map[int]int{}
	for _, r := range srv.Handler().Requests() {
		out[r.Status]++
	}
	return out
}

func TestEmulator408And409AreRetried(t *testing.T) {
	ctx := context.Background()
	fast := api.WithRetry(api.RetryPolicy{MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})
	t.Run("ToSuccess", func(t *testing.T) {
		files := emulatorLibrary(60)
		c, srv := emulatorClient(t, files, []imagekittest.Option{
			imagekittest.WithStatusRate(http.StatusRequestTimeout, 0.25), imagekittest.WithStatusRate(http.StatusConflict, 0.25), imagekittest.WithSeed(11),
		}, fast, api.WithRate(0, 0), api.WithClock(newFakeClock()))
		for i := 0; i < len(files); i += 6 {
			var ids []string
			for _, f := range files[i : i+6] {
				ids = append(ids, f.FileID)
			}
			_, err := c.RemoveTags(ctx, ids, []string{"draft"})
			require.NoError(t, err)
		}
		n := 0
		for f, err := range c.List(ctx, api.ListParams{SearchQuery: `tags IN ["sale", "keep"]`, Limit: 7}) {
			require.NoError(t, err)
			assert.NotContains(t, f.Tags, "draft")
			n++
		}
		assert.Equal(t, len(files), n)
		got := statusesAnswered(srv)
		assert.Positive(t, got[http.StatusRequestTimeout], "some answers were 408")
		assert.Positive(t, got[http.StatusConflict], "some answers were 409")
		assert.Equal(t, int64(got[http.StatusRequestTimeout]+got[http.StatusConflict]), c.Stats().Retries, "each was retried")
	})
	t.Run("UntilTheAttemptsAreSpent", func(t *testing.T) {
		files := emulatorLibrary(2)
		c, srv := emulatorClient(t, files, []imagekittest.Option{imagekittest.WithStatusRate(http.StatusConflict, 1)},
			api.WithRetry(api.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond}), api.WithRate(0, 0), api.WithClock(newFakeClock()))
		_, err := c.RemoveTags(ctx, []string{files[0].FileID}, []string{"sale"})
		var ae *api.Error
		require.ErrorAs(t, err, &ae)
		assert.ErrorIs(t, err, api.ErrServer)
		assert.Equal(t, http.StatusConflict, ae.StatusCode)
		assert.Equal(t, 3, ae.Attempts)
		reqs := srv.Handler().Requests()
		require.Len(t, reqs, 3)
		assert.Equal(t, reqs[2].RequestID, ae.RequestID, "the error names the last answer's request id")
		assert.Equal(t, files, srv.Handler().Files(), "nothing changed")
	})
}

func TestEmulatorRequestIDsReachErrors(t *testing.T) {
	ctx := context.Background()
	files := emulatorLibrary(4)
	c, srv := emulatorClient(t, files, []imagekittest.Option{imagekittest.WithFailFiles(files[1].FileID)}, api.WithRate(0, 0))
	lastID := func() string {
		reqs := srv.Handler().Requests()
		require.NotEmpty(t, reqs)
		return reqs[len(reqs)-1].RequestID
	}
	check := func(t *testing.T, err error, want string) {
		t.Helper()
		require.Error(t, err)
		require.NotEmpty(t, want)
		assert.Contains(t, err.Error(), "request id "+want)
	}

	t.Run("404", func(t *testing.T) {
		_, err := c.RemoveTags(ctx, []string{files[0].FileID, "5e21880d5efe355febd4bccd"}, []string{"sale"})
		var ae *api.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, lastID(), ae.RequestID)
		check(t, err, ae.RequestID)
	})
	t.Run("400", func(t *testing.T) {
		_, err := c.ListPage(ctx, api.ListParams{SearchQuery: `colour = "red"`})
		var ae *api.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
		assert.Equal(t, lastID(), ae.RequestID)
		check(t, err, ae.RequestID)
	})
	t.Run("207", func(t *testing.T) {
		res, err := c.RemoveTags(ctx, []string{files[0].FileID, files[1].FileID}, []string{"draft"})
		var pe *api.PartialError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, lastID(), pe.RequestID)
		assert.Equal(t, pe.RequestID, res.RequestID)
		check(t, err, pe.RequestID)
	})
	t.Run("200", func(t *testing.T) {
		res, err := c.RemoveTags(ctx, []string{files[2].FileID}, []string{"keep"})
		require.NoError(t, err)
		assert.Equal(t, lastID(), res.RequestID)
		page, err := c.ListPage(ctx, api.ListParams{})
		require.NoError(t, err)
		assert.Equal(t, lastID(), page.RequestID)
	})
	t.Run("429", func(t *testing.T) {
		srv := imagekittest.NewServer(files, imagekittest.WithRateLimitWindow(1, time.Hour))
		t.Cleanup(srv.Close)
		c, err := api.New(api.WithBaseURL(srv.URL), api.WithRate(0, 0), api.WithRetry(api.RetryPolicy{RateLimitWait: time.Second}))
		require.NoError(t, err)
		_, err = c.ListPage(ctx, api.ListParams{})
		require.NoError(t, err)
		_, err = c.ListPage(ctx, api.ListParams{})
		require.ErrorIs(t, err, api.ErrRateLimited)
		reqs := srv.Handler().Requests()
		check(t, err, reqs[len(reqs)-1].RequestID)
	})
}
