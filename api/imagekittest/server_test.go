package imagekittest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

func TestServer(t *testing.T) {
	srv := imagekittest.NewServer(library())
	defer srv.Close()
	assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	resp, err := srv.Client().Get(srv.URL + "/v1/files/f1/details")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var f imagekittest.File
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&f))
	assert.Equal(t, "f1", f.FileID)
	assert.EqualValues(t, 1, srv.Handler().Stats().Requests.Details)
}

func TestDropRate(t *testing.T) {
	srv := imagekittest.NewServer(library(), imagekittest.WithDropRate(1))
	defer srv.Close()
	t.Run("ClientSeesATruncatedAnswer", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/v1/files")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		require.Error(t, err)
	})
	t.Run("TheRequestWasHandled", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/v1/files/removeTags", "application/json",
			strings.NewReader(`{"fileIds":["f4"],"tags":["keep"]}`))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		require.Error(t, err)
		assert.Nil(t, byID(srv.Handler().Files())["f4"].Tags)
	})
	assert.EqualValues(t, 2, srv.Handler().Stats().Faults)
}

func TestHangRate(t *testing.T) {
	srv := imagekittest.NewServer(library(), imagekittest.WithHangRate(1))
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/files/removeTags",
		strings.NewReader(`{"fileIds":["f4"],"tags":["keep"]}`))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// The request is held: wait until the emulator has seen it, then give up.
	require.Eventually(t, func() bool { return srv.Handler().Stats().Faults == 1 }, 5*time.Second, time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("a held request was answered: %v", err)
	default:
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, library(), srv.Handler().Files(), "a held request changes nothing")

	t.Run("CloseReleasesHeldRequests", func(t *testing.T) {
		go func() {
			resp, err := http.Get(srv.URL + "/v1/files")
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		require.Eventually(t, func() bool { return srv.Handler().Stats().Faults == 2 }, 5*time.Second, time.Millisecond)
		srv.Close()
		assert.Error(t, <-done)
	})
}

func TestLatencySpikes(t *testing.T) {
	h := imagekittest.NewHandler(library(), imagekittest.WithLatencySpikes(0.5, time.Microsecond), imagekittest.WithSeed(9))
	for range 20 {
		assert.Equal(t, http.StatusOK, call(t, h, "GET", "/v1/files?limit=1", nil, nil).Code)
	}
	faults := h.Stats().Faults
	assert.Greater(t, faults, int64(0))
	assert.Less(t, faults, int64(20))
}

func TestConcurrentRequests(t *testing.T) {
	files := imagekittest.GenerateLibrary(3000, 11)
	srv := imagekittest.NewServer(files, imagekittest.WithPartialRate(0.2), imagekittest.WithSeed(5))
	defer srv.Close()
	client := &http.Client{}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				id := files[(w*25+i)%len(files)].FileID
				var resp *http.Response
				var err error
				switch i % 4 {
				case 0:
					resp, err = client.Get(srv.URL + `/v1/files?limit=50&searchQuery=` +
						`path%20%3A%20%22%2Fproducts%2F%22%20AND%20tags%20IN%20%5B%22hero%22%5D`)
				case 1:
					resp, err = client.Post(srv.URL+"/v1/files/removeTags", "application/json",
						strings.NewReader(fmt.Sprintf(`{"fileIds":[%q],"tags":["hero","product"]}`, id)))
				case 2:
					resp, err = client.Post(srv.URL+"/v1/files/addTags", "application/json",
						strings.NewReader(fmt.Sprintf(`{"fileIds":[%q],"tags":["hero"]}`, id)))
				default:
					req, _ := http.NewRequest("DELETE", srv.URL+"/v1/files/"+files[len(files)-1-w*25-i].FileID, nil)
					resp, err = client.Do(req)
				}
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 300 && resp.StatusCode != http.StatusMultiStatus {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	st := srv.Handler().Stats()
	assert.EqualValues(t, 8*25, st.Requests.List+st.Requests.RemoveTags+st.Requests.AddTags+st.Requests.Delete)
	assert.Len(t, srv.Handler().Files(), len(files)-8*6)
	assert.Len(t, srv.Handler().Requests(), 8*25)
}

func TestNewHandlerRejectsDuplicateIDs(t *testing.T) {
	files := library()
	files[1].FileID = files[0].FileID
	assert.PanicsWithValue(t, `imagekittest: fileId "f1" appears more than once: file ids must be unique`, func() {
		imagekittest.NewHandler(files)
	})
}

func TestListenAndWait(t *testing.T) {
	data := writeLibrary(t, library())
	lib, err := imagekittest.OpenLibrary(context.Background(), data)
	require.NoError(t, err)
	var cfg imagekittest.Config
	require.NoError(t, cfg.Set("private-key", "key"))
	srv, err := imagekittest.Listen("127.0.0.1:0", imagekittest.NewLibraryHandler(lib, cfg.Options()...))
	require.NoError(t, err)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, srv.URL)

	req, err := http.NewRequest("POST", srv.URL+"/v1/files/removeTags", strings.NewReader(`{"fileIds":["f1"],"tags":["hero"]}`))
	require.NoError(t, err)
	req.SetBasicAuth("key", "")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	unauth, err := http.Get(srv.URL + "/v1/files")
	require.NoError(t, err)
	unauth.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, unauth.StatusCode)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Wait(ctx) }()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after its context ended")
	}
	_, err = http.Get(srv.URL + "/v1/files")
	assert.Error(t, err, "the server no longer listens")

	assert.True(t, lib.Changed(), "the handler changed the library it serves")
	var out strings.Builder
	_, err = lib.WriteTo(&out)
	require.NoError(t, err)
	saved := filepath.Join(t.TempDir(), "saved.json")
	require.NoError(t, os.WriteFile(saved, []byte(out.String()), 0o644))
	files, err := imagekittest.LoadLibrary(saved)
	require.NoError(t, err)
	assert.Equal(t, []string{"sale2019"}, byID(files)["f1"].Tags, "the written library holds the change")
}

func TestWaitReleasesHeldRequests(t *testing.T) {
	srv, err := imagekittest.Listen("127.0.0.1:0", imagekittest.NewHandler(library(), imagekittest.WithHangRate(1)))
	require.NoError(t, err)
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/v1/files")
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	require.Eventually(t, func() bool { return srv.Handler().Stats().Faults == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, srv.Wait(ctx))
	assert.Error(t, <-answered, "the held request ends without an answer")
}

func TestListenErrors(t *testing.T) {
	t.Run("BadAddr", func(t *testing.T) {
		_, err := imagekittest.Listen("127.0.0.1:notaport", imagekittest.NewHandler(nil))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "127.0.0.1:notaport")
	})
	t.Run("AddrInUse", func(t *testing.T) {
		srv := imagekittest.NewServer(nil)
		defer srv.Close()
		_, err := imagekittest.Listen(strings.TrimPrefix(srv.URL, "http://"), imagekittest.NewHandler(nil))
		require.Error(t, err)
		assert.Contains(t, err.Error(), strings.TrimPrefix(srv.URL, "http://"))
	})
}
