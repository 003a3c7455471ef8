package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
)

const canaryKey = "private_CANARY_k3y_do_not_print"

// echo answers status with a body that repeats the credentials it received,
// as a careless or hostile server might.
func echo(status int, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		user, _, _ := r.BasicAuth()
		msg := fmt.Sprintf("bad credentials %s for user %s", auth, user)
		body := map[string]any{"message": msg, "help": msg, "missingFileIds": []string{"f1"},
			"successfullyUpdatedFileIds": []string{}, "errors": []map[string]string{{"fileId": "f1", "error": msg}}}
		answer(status, body, headers...)(w, r)
	}
}

func echoText(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html>"+r.Header.Get("Authorization")+"</html>")
	}
}

// echoInHeaders answers status, echoing the key in the request id and in
// the Location.
func echoInHeaders(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := r.BasicAuth()
		w.Header().Set("X-Ik-Requestid", user)
		w.Header().Set("Location", "https://elsewhere.example/v1/files?auth="+r.Header.Get("Authorization")+"&key="+user)
		echo(status, "X-RateLimit-Reset", "2500")(w, r)
	}
}

// echoLong answers a plain-text error whose key starts just before the
// point where messages are cut.
func echoLong(status, at int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := r.BasicAuth()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, strings.Repeat("x", at)+user+strings.Repeat("y", 300))
	}
}

func TestKeyNeverLeaks(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	paths := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"Redirect", echoInHeaders(307)},
		{"RequestIDAndLocationEchoed", echoInHeaders(400)},
		{"RateLimitCountdownEchoed", echoInHeaders(429)},
		{"ServerErrorEchoedInHeaders", echoInHeaders(503)},
		{"LongTextCutInsideTheKey", echoLong(400, 200-len("private_CANARY"))},
		{"LongTextCutAtTheKey", echoLong(500, 200-len(canaryKey)+1)},
		{"Unauthorized", echo(401)},
		{"Forbidden", echo(403)},
		{"NotFound", echo(404)},
		{"BadRequest", echo(400)},
		{"PartialSuccess", echo(207)},
		{"RateLimitedForever", echo(429, "X-RateLimit-Reset", "10")},
		{"ServerErrorForever", echoText(503)},
		{"MalformedAnswer", echoText(200)},
		{"CutOffAnswer", cutOff},
		{"Timeout", hang},
	}
	type call struct {
		name string
		run  func(*api.Client) error
	}
	calls := []call{
		{"List", func(c *api.Client) error {
			for _, err := range c.List(context.Background(), api.ListParams{SearchQuery: `tags IN ["x"]`}) {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"Details", func(c *api.Client) error { _, err := c.Details(context.Background(), "f1"); return err }},
		{"RemoveTags", func(c *api.Client) error {
			_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
			return err
		}},
	}
	for _, p := range paths {
		for _, cl := range calls {
			t.Run(p.name+"/"+cl.name, func(t *testing.T) {
				var logs, hooked bytes.Buffer
				logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				hook := func(w api.Wait) { fmt.Fprintf(&hooked, "%s %+v\n", w, w) }
				for _, withHook := range []bool{false, true} {
					opts := []api.Option{api.WithPrivateKey(canaryKey), api.WithLogger(logger),
						api.WithTimeout(50 * time.Millisecond), api.WithRetry(api.RetryPolicy{MaxAttempts: 2, BaseDelay: 5 * time.Second})}
					if withHook {
						opts = append(opts, api.WithWaitHook(hook))
					}
					c, rec, _ := serve(t, []http.HandlerFunc{p.handler}, opts...)
					err := cl.run(c)
					require.Error(t, err)
					require.NotEmpty(t, rec.Requests())
					require.Contains(t, rec.Requests()[0].Auth, basicCanary(), "the key was sent")
					assertNoKey(t, err, logs.String()+hooked.String())
				}
				if p.name == "RateLimitCountdownEchoed" {
					assert.Contains(t, hooked.String(), "request id [REDACTED]", "the countdown was shown")
				}
			})
		}
	}
}

func TestKeyNeverLeaksWhenUnreachableOrCancelled(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := api.New(api.WithBaseURL(url), api.WithPrivateKey(canaryKey), api.WithLogger(logger),
		api.WithClock(newFakeClock()), api.WithRetry(api.RetryPolicy{MaxAttempts: 2}))
	require.NoError(t, err)
	_, err = c.Details(context.Background(), "f1")
	require.ErrorIs(t, err, api.ErrTransport)
	assertNoKey(t, err, logs.String())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.RemoveTags(ctx, []string{"f1"}, []string{"x"})
	require.Error(t, err)
	assertNoKey(t, err, logs.String())
}

func TestNewErrorsNeverLeakTheKey(t *testing.T) {
	_, err := api.New(api.WithBaseURL("http://"+canaryKey+"@example.com"), api.WithPrivateKey(canaryKey))
	require.Error(t, err)
	assertNoKey(t, err, "")
}

func basicCanary() string {
	return base64.StdEncoding.EncodeToString([]byte(canaryKey + ":"))
}

func assertNoKey(t *testing.T, err error, logs string) {
	t.Helper()
	outputs := map[string]string{
		"error":      err.Error(),
		"formatted":  fmt.Sprintf("%v %+v %#v %q", err, err, err, err),
		"debug logs": logs,
	}
	for where, s := range outputs {
		for _, secret := range []string{canaryKey, basicCanary(), "CANARY"} {
			assert.False(t, strings.Contains(s, secret), "%s contains %q: %s", where, secret, s)
		}
	}
}

func TestDebugLogNamesEachAttempt(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _, _ := serve(t, []http.HandlerFunc{answer(503, nil), okRemove}, api.WithLogger(logger), api.WithPrivateKey(canaryKey))
	_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2)
	for i, want := range []string{"status=503", "status=200"} {
		assert.Contains(t, lines[i], "level=DEBUG")
		assert.Contains(t, lines[i], "method=POST")
		assert.Contains(t, lines[i], "path=/v1/files/removeTags")
		assert.Contains(t, lines[i], want)
		assert.Contains(t, lines[i], fmt.Sprintf("attempt=%d", i+1))
		assert.Contains(t, lines[i], "duration=")
	}
	assertNoKey(t, err0{}, logs.String())
}

// err0 is an error with no text, for checking logs alone.
type err0 struct{}

func (err0) Error() string { return "" }

func TestOnlyTheWholeKeyIsRedacted(t *testing.T) {
	const key = "private_abcdefgh12"
	msg := "file private_abc has tag abcdefgh; a key such as private_ is expected"
	c, _, _ := serve(t, []http.HandlerFunc{answer(400, errBody(msg))}, api.WithPrivateKey(key))
	_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
	require.ErrorIs(t, err, api.ErrBadRequest)
	assert.Contains(t, err.Error(), msg)
}

func TestRequestIDsInLogsAndErrors(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _, _ := serve(t, []http.HandlerFunc{
		answer(503, errBody("busy"), "X-Ik-Requestid", "req-a"),
		answer(404, errBody("The requested file does not exist."), "X-Ik-Requestid", "req-b 7\u00e9"),
	}, api.WithLogger(logger))
	_, err := c.Details(context.Background(), "f1")
	require.ErrorIs(t, err, api.ErrNotFound)
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "req-b7", ae.RequestID, "spaces and characters beyond ASCII are dropped")
	assert.Contains(t, err.Error(), "(request id req-b7)")
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "requestId=req-a")
	assert.Contains(t, lines[1], "requestId=req-b7")
}
