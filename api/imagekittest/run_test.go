package imagekittest_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

func TestRun(t *testing.T) {
	data := filepath.Join(t.TempDir(), "library.json")
	require.NoError(t, imagekittest.SaveLibrary(data, library()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- imagekittest.Run(ctx, imagekittest.Config{
			Data: data, Addr: "127.0.0.1:0", PrivateKey: "key", Save: true,
		}, stdout, nil)
		stdout.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	url, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "listening on ")
	require.True(t, ok, "first line: %q", line)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, url)

	req, err := http.NewRequest("POST", url+"/v1/files/removeTags", strings.NewReader(`{"fileIds":["f1"],"tags":["hero"]}`))
	require.NoError(t, err)
	req.SetBasicAuth("key", "")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	unauth, err := http.Get(url + "/v1/files")
	require.NoError(t, err)
	unauth.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, unauth.StatusCode)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	saved, err := imagekittest.LoadLibrary(data)
	require.NoError(t, err)
	assert.Equal(t, []string{"sale2019"}, byID(saved)["f1"].Tags, "--save wrote the change back")
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "library.json")
	require.NoError(t, imagekittest.SaveLibrary(good, library()))
	tests := []struct {
		name string
		cfg  imagekittest.Config
		want string
	}{
		{"NoData", imagekittest.Config{}, "--data"},
		{"MissingData", imagekittest.Config{Data: filepath.Join(dir, "absent.json")}, "absent.json"},
		{"BadAddr", imagekittest.Config{Data: good, Addr: "127.0.0.1:notaport"}, "127.0.0.1:notaport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := imagekittest.Run(context.Background(), tt.cfg, &out, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, out.String(), "nothing is printed before the server listens")
		})
	}
}
