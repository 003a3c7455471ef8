package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
)

func TestRedirectsAreNeverFollowed(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			other := &recorder{handlers: []http.HandlerFunc{okRemove}}
			elsewhere := httptest.NewServer(other)
			t.Cleanup(elsewhere.Close)
			target := elsewhere.URL + "/v1/files/removeTags"
			redirect := func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Ik-Requestid", "req-3xx")
				http.Redirect(w, r, target, status)
			}
			c, rec, _ := serve(t, []http.HandlerFunc{redirect}, api.WithPrivateKey(canaryKey))
			_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})

			require.ErrorIs(t, err, api.ErrRedirect)
			var ae *api.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, status, ae.StatusCode)
			assert.Equal(t, target, ae.Location)
			assert.Equal(t, 1, ae.Attempts, "not retried")
			assert.Contains(t, err.Error(), "redirected to \""+target+"\"")
			assert.Contains(t, err.Error(), "request id req-3xx")
			assert.Len(t, rec.Requests(), 1)
			assert.Empty(t, other.Requests(), "the other server receives nothing")
		})
	}
}

func TestRedirectsAreRefusedInProcess(t *testing.T) {
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.invalid/v1/files", http.StatusTemporaryRedirect)
	})
	c, err := api.New(api.WithHandler(redirect), api.WithBaseURL("http://library.local"))
	require.NoError(t, err)
	_, err = c.ListPage(context.Background(), api.ListParams{})
	require.ErrorIs(t, err, api.ErrRedirect)
}

func TestTheCallersHTTPClientIsLeftAsItIs(t *testing.T) {
	hc := &http.Client{}
	_, err := api.New(api.WithHTTPClient(hc))
	require.NoError(t, err)
	assert.Nil(t, hc.CheckRedirect)
}
