package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
)

// emulatorLibrary returns n files: even ones in /products/ tagged sale, odd
// ones in /blog/ tagged keep, and every third one also tagged draft.
func emulatorLibrary(n int) []imagekittest.File {
	files := make([]imagekittest.File, n)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range files {
		folder, tags := "/blog/", []string{"keep"}
		if i%2 == 0 {
			folder, tags = "/products/", []string{"sale"}
		}
		if i%3 == 0 {
			tags = append(tags, "draft")
		}
		name := fmt.Sprintf("f%04d.jpg", i)
		files[i] = imagekittest.File{
			FileID: fmt.Sprintf("id%04d", i), Type: "file", Name: name, FilePath: folder + name,
			Tags: tags, FileType: "image", CreatedAt: t0.Add(time.Duration(i) * time.Minute), UpdatedAt: t0,
		}
	}
	return files
}

func emulatorClient(t *testing.T, files []imagekittest.File, srvOpts []imagekittest.Option, opts ...api.Option) (*api.Client, *imagekittest.Server) {
	t.Helper()
	srv := imagekittest.NewServer(files, srvOpts...)
	t.Cleanup(srv.Close)
	c, err := api.New(append([]api.Option{api.WithBaseURL(srv.URL), api.WithHTTPClient(srv.Client())}, opts...)...)
	require.NoError(t, err)
	return c, srv
}

func tagsOf(files []imagekittest.File, id string) []string {
	for _, f := range files {
		if f.FileID == id {
			return f.Tags
		}
	}
	return nil
}

func TestEmulatorListWithSearchQuery(t *testing.T) {
	c, srv := emulatorClient(t, emulatorLibrary(30), nil, api.WithListPrefetch(1))
	var got []string
	q := api.ListParams{SearchQuery: `path : "/products/" AND tags IN ["draft"]`, Limit: 2}
	for f, err := range c.List(context.Background(), q) {
		require.NoError(t, err)
		assert.Contains(t, f.Tags, "draft")
		got = append(got, f.FileID)
	}
	assert.Equal(t, []string{"id0000", "id0006", "id0012", "id0018", "id0024"}, got)
	assert.Equal(t, int64(3), c.Stats().List, "pages of 2, 2 and 1")
	assert.Equal(t, int64(3), srv.Handler().Stats().Requests.List)
}

func TestEmulatorListPagesWholeLibrary(t *testing.T) {
	c, _ := emulatorClient(t, emulatorLibrary(2100), nil, api.WithListPrefetch(1))
	seen := map[string]bool{}
	for f, err := range c.List(context.Background(), api.ListParams{}) {
		require.NoError(t, err)
		require.False(t, seen[f.FileID], "file %s listed twice", f.FileID)
		seen[f.FileID] = true
	}
	assert.Len(t, seen, 2100)
	assert.Equal(t, int64(3), c.Stats().List)
}

func TestEmulatorDetails(t *testing.T) {
	c, _ := emulatorClient(t, emulatorLibrary(4), nil)
	f, err := c.Details(context.Background(), "id0003")
	require.NoError(t, err)
	assert.Equal(t, "/blog/f0003.jpg", f.FilePath)
	assert.Equal(t, []string{"keep", "draft"}, f.Tags)
	assert.NotNil(t, f.AITags)

	_, err = c.Details(context.Background(), "nope")
	assert.ErrorIs(t, err, api.ErrNotFound)
}

func TestEmulatorRemoveTags(t *testing.T) {
	t.Run("OKChangesTheFiles", func(t *testing.T) {
		c, srv := emulatorClient(t, emulatorLibrary(4), nil)
		res, err := c.RemoveTags(context.Background(), []string{"id0000", "id0003"}, []string{"draft", "absent"})
		require.NoError(t, err)
		assert.Equal(t, 200, res.StatusCode)
		assert.ElementsMatch(t, []string{"id0000", "id0003"}, res.Succeeded)
		files := srv.Handler().Files()
		assert.Equal(t, []string{"sale"}, tagsOf(files, "id0000"))
		assert.Equal(t, []string{"keep"}, tagsOf(files, "id0003"))
	})
	t.Run("NotFoundChangesNothing", func(t *testing.T) {
		c, srv := emulatorClient(t, emulatorLibrary(4), nil)
		_, err := c.RemoveTags(context.Background(), []string{"id0000", "gone1", "gone2"}, []string{"draft"})
		require.ErrorIs(t, err, api.ErrNotFound)
		var ae *api.Error
		require.ErrorAs(t, err, &ae)
		assert.ElementsMatch(t, []string{"gone1", "gone2"}, ae.MissingFileIDs)
		assert.Equal(t, []string{"sale", "draft"}, tagsOf(srv.Handler().Files(), "id0000"))
	})
	t.Run("PartialKeepsTheFailedFiles", func(t *testing.T) {
		c, srv := emulatorClient(t, emulatorLibrary(4), []imagekittest.Option{imagekittest.WithFailFiles("id0003")})
		res, err := c.RemoveTags(context.Background(), []string{"id0000", "id0003"}, []string{"draft"})
		var pe *api.PartialError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, 207, res.StatusCode)
		assert.Equal(t, []string{"id0000"}, res.Succeeded)
		require.Len(t, res.Failed, 1)
		assert.Equal(t, "id0003", res.Failed[0].FileID)
		assert.NotEmpty(t, res.Failed[0].Error)
		assert.Equal(t, []string{"keep", "draft"}, tagsOf(srv.Handler().Files(), "id0003"))
	})
	t.Run("OverFiftyNeverSent", func(t *testing.T) {
		c, srv := emulatorClient(t, emulatorLibrary(4), nil)
		ids := make([]string, 51)
		for i := range ids {
			ids[i] = fmt.Sprintf("id%04d", i)
		}
		_, err := c.RemoveTags(context.Background(), ids, []string{"draft"})
		require.ErrorIs(t, err, api.ErrBadRequest)
		assert.Zero(t, srv.Handler().Stats().Requests.RemoveTags)
	})
}

func TestEmulatorAddTags(t *testing.T) {
	c, srv := emulatorClient(t, emulatorLibrary(4), nil)
	res, err := c.AddTags(context.Background(), []string{"id0001", "id0002"}, []string{"new"})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"id0001", "id0002"}, res.Succeeded)
	files := srv.Handler().Files()
	assert.Contains(t, tagsOf(files, "id0001"), "new")
	assert.Contains(t, tagsOf(files, "id0002"), "new")
	assert.NotContains(t, tagsOf(files, "id0003"), "new")
	assert.Equal(t, int64(1), c.Stats().AddTags)

	_, err = c.AddTags(context.Background(), []string{"id0001", "gone"}, []string{"other"})
	require.ErrorIs(t, err, api.ErrNotFound)
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, []string{"gone"}, ae.MissingFileIDs)
	assert.NotContains(t, tagsOf(srv.Handler().Files(), "id0001"), "other")
}

func TestEmulatorAuth(t *testing.T) {
	srvOpts := []imagekittest.Option{imagekittest.WithPrivateKey("right_key")}
	t.Run("WrongKeyIsAuthErrorWithoutRetry", func(t *testing.T) {
		c, srv := emulatorClient(t, emulatorLibrary(2), srvOpts, api.WithPrivateKey("wrong_key"))
		_, err := c.ListPage(context.Background(), api.ListParams{})
		require.ErrorIs(t, err, api.ErrAuth)
		assert.Contains(t, err.Error(), "HTTP 401")
		assert.NotContains(t, err.Error(), "wrong_key")
		assert.Equal(t, int64(1), srv.Handler().Stats().Requests.List)
	})
	t.Run("RightKeyIsAccepted", func(t *testing.T) {
		c, _ := emulatorClient(t, emulatorLibrary(2), srvOpts, api.WithPrivateKey("right_key"))
		pg, err := c.ListPage(context.Background(), api.ListParams{})
		page := pg.Files
		require.NoError(t, err)
		assert.Len(t, page, 2)
	})
}

func TestEmulatorFaultsAreRetriedToSuccess(t *testing.T) {
	files := emulatorLibrary(100)
	srvOpts := []imagekittest.Option{imagekittest.WithFailRate(0.3), imagekittest.WithDropRate(0.2), imagekittest.WithSeed(7)}
	c, srv := emulatorClient(t, files, srvOpts, api.WithClock(newFakeClock()), api.WithRate(0, 0),
		api.WithRetry(api.RetryPolicy{MaxAttempts: 30}))
	ctx := context.Background()
	for i := 0; i < len(files); i += 10 {
		ids := make([]string, 0, 10)
		for _, f := range files[i : i+10] {
			ids = append(ids, f.FileID)
		}
		_, err := c.RemoveTags(ctx, ids, []string{"draft"})
		require.NoError(t, err)
	}
	for _, f := range srv.Handler().Files() {
		assert.NotContains(t, f.Tags, "draft", f.FileID)
	}
	st := c.Stats()
	assert.Positive(t, st.Retries, "the faults were met")
	assert.Equal(t, st.RemoveTags, srv.Handler().Stats().Requests.RemoveTags)
}

func TestEmulatorRateLimitIsPacedAndRetried(t *testing.T) {
	c, srv := emulatorClient(t, emulatorLibrary(400), []imagekittest.Option{imagekittest.WithRateLimit(100)},
		api.WithRate(1000, 50))
	ctx := context.Background()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < 200; i += 8 {
				if _, err := c.RemoveTags(ctx, []string{fmt.Sprintf("id%04d", 2*i)}, []string{"sale"}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, failed.Load())
	rps, _ := c.Pacing(api.OpRemoveTags)
	assert.LessOrEqual(t, rps, 97.0, "learned from X-RateLimit-Limit")
	for i, f := range srv.Handler().Files() {
		if i%2 == 0 {
			assert.False(t, slices.Contains(f.Tags, "sale"), f.FileID)
		}
	}
}

func TestInProcessHandler(t *testing.T) {
	h := imagekittest.NewHandler(emulatorLibrary(5))
	c, err := api.New(api.WithHandler(h), api.WithBaseURL("http://library.local"))
	require.NoError(t, err)
	ctx := context.Background()
	pg, err := c.ListPage(ctx, api.ListParams{SearchQuery: `tags IN ["draft"]`})
	page := pg.Files
	require.NoError(t, err)
	assert.Len(t, page, 2)
	_, err = c.RemoveTags(ctx, []string{"id0000"}, []string{"draft"})
	require.NoError(t, err)
	assert.Equal(t, []string{"sale"}, tagsOf(h.Files(), "id0000"))
	_, err = c.Details(ctx, "missing")
	assert.ErrorIs(t, err, api.ErrNotFound)
}

// BenchmarkPacedRemoveTags sends 200 removeTags calls from 8 goroutines to an
// emulator limited to 20 requests per second with 150ms latency: the rate
// limit bounds the run at 10s, and pacing should come close to it.
func BenchmarkPacedRemoveTags(b *testing.B) {
	for b.Loop() {
		srv := imagekittest.NewServer(emulatorLibrary(200), imagekittest.WithRateLimit(20), imagekittest.WithLatency(150*time.Millisecond))
		c, err := api.New(api.WithBaseURL(srv.URL), api.WithHTTPClient(srv.Client()))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < 200; i += 8 {
					if _, err := c.RemoveTags(context.Background(), []string{fmt.Sprintf("id%04d", i)}, []string{"draft"}); err != nil {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric(time.Since(start).Seconds(), "s/200calls")
		b.ReportMetric(float64(c.Stats().RateLimited), "429s")
		b.ReportMetric(float64(failed.Load()), "failed")
		srv.Close()
	}
}
