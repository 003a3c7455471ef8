package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// canaryKey is a private key that must never show up in any output. Its
// length is not a multiple of 3, so its base64 forms with and without the
// trailing colon differ.
const canaryKey = "canary_Pr1vate_KEY_zq7"

// leakForms are the forms in which the key could leak.
func leakForms() map[string]string {
	withColon := base64.StdEncoding.EncodeToString([]byte(canaryKey + ":"))
	return map[string]string{
		"the key":                     canaryKey,
		"base64(key:)":                withColon,
		"base64(key)":                 base64.StdEncoding.EncodeToString([]byte(canaryKey)),
		"the Authorization header":    "Basic " + withColon,
		"base64(key) without padding": strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(canaryKey)), "="),
	}
}

// requireNoLeak fails when any form of the canary key appears in text.
func requireNoLeak(t *testing.T, where, text string) {
	t.Helper()
	for name, form := range leakForms() {
		require.NotContains(t, text, form, "%s leaks %s", where, name)
	}
}

// echoServer answers every request 401 with the Authorization header it
// received, and the key decoded from it, in its message, as a careless or
// hostile server might.
func echoServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		user := ""
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic ")); err == nil {
			user, _, _ = strings.Cut(string(raw), ":")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", auth)
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"message": "key " + user + " is not valid; you sent " + auth,
			"help":    "base64 was " + strings.TrimPrefix(auth, "Basic "),
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// closedPort returns a loopback URL on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	return url
}

// The private key appears in no output, log, plan or report of any
// command, whatever the log level and format, whether it comes from the
// environment or a file, and whether the API accepts it, refuses it, cannot
// be reached, or echoes the Authorization header back.
func TestPrivateKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	manifest := exampleManifest
	servers := []struct {
		name string
		url  string
		ok   bool
	}{
		{"accepted", startKeyEmulator(t, canaryKey), true},
		{"refused", startKeyEmulator(t, "some-other-key"), false},
		{"unreachable", closedPort(t), false},
		{"echoes the header", echoServer(t), false},
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte(canaryKey+"\n"), 0o600))
	keySources := []struct {
		name string
		env  []string
		args []string
	}{
		{"env", []string{"IMAGEKIT_PRIVATE_KEY=" + canaryKey}, nil},
		{"file", nil, []string{"--private-key-file", keyFile}},
	}
	logFormats := []string{"json", "text"}

	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			// The runs of one server are independent: start them all, then
			// look at them, so that the retries against an unreachable
			// host overlap.
			type started struct {
				name string
				dir  string
				run  *running
				ok   func(int) bool
			}
			var runs []started
			for _, ks := range keySources {
				for _, lf := range logFormats {
					commands := []struct {
						name string
						args []string
						ok   func(code int) bool
					}{
						{"validate", []string{"validate", "-f", manifest}, func(c int) bool { return c == 0 }},
						{"plan", []string{"plan", "-f", manifest, "--out", "plan.json", "--report", "plan-report.json"}, nil},
						{"apply -f", []string{"apply", "-f", manifest, "--auto-approve", "--report", "apply-report.json"}, nil},
						{"apply PLANFILE", []string{"apply", "saved.json", "--report", "saved-report.json"}, nil},
						{"export", []string{"export", "--out", "library.json"}, nil},
					}
					for _, c := range commands {
						dir := t.TempDir()
						plan, err := os.ReadFile(planFixture(t, "valid.json", srv.url))
						require.NoError(t, err)
						require.NoError(t, os.WriteFile(filepath.Join(dir, "saved.json"), plan, 0o644))
						// Relative paths to the repository's files, from dir.
						args := make([]string, len(c.args))
						for i, a := range c.args {
							if a == manifest {
								a, err = filepath.Abs(manifest)
								require.NoError(t, err)
							}
							args[i] = a
						}
						args = append(args, "--log-level", "debug", "--log-format", lf)
						if c.name != "validate" {
							args = append(args, ks.args...)
							args = append(args, "--api-url", srv.url)
						}
						ok := c.ok
						if ok == nil {
							ok = func(code int) bool {
								if srv.ok {
									return code == 0 || code == exitStale
								}
								return code == exitError
							}
						}
						env := append([]string{}, ks.env...)
						runs = append(runs, started{
							name: c.name + " " + ks.name + " " + lf, dir: dir, ok: ok,
							run: startTagprune(t, cmd{args: args, env: env, dir: dir}),
						})
					}
				}
			}
			for _, s := range runs {
				r := s.run.wait(t)
				require.True(t, s.ok(r.code), "%s: exit %d\nstdout:\n%s\nstderr:\n%s", s.name, r.code, r.stdout, r.stderr)
				requireNoPanic(t, r.stderr)
				requireNoLeak(t, s.name+" stdout", r.stdout)
				requireNoLeak(t, s.name+" stderr", r.stderr)
				if strings.HasPrefix(s.name, "plan") || strings.HasPrefix(s.name, "apply") {
					require.Contains(t, r.stderr, "level", "%s logs at debug level", s.name)
				}
				entries, err := os.ReadDir(s.dir)
				require.NoError(t, err)
				for _, e := range entries {
					b, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
					require.NoError(t, err)
					requireNoLeak(t, s.name+" "+e.Name(), string(b))
				}
			}
		})
	}
}

// startKeyEmulator starts an emulator of the example library that requires
// key, and returns its URL.
func startKeyEmulator(t *testing.T, key string) string {
	t.Helper()
	srv := imagekittest.NewServer(exampleLibrary(t), imagekittest.WithPrivateKey(key))
	t.Cleanup(srv.Close)
	return srv.URL
}

// proxyRecorder is an HTTP proxy on loopback that answers 502 and counts
// every request it is asked to forward.
func proxyRecorder(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		http.Error(w, "the test proxy forwards nothing", http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// A plain http:// API URL whose host is not loopback is refused with exit 1
// before any request: the key would cross the network unencrypted. An HTTP
// proxy on loopback stands in for the network and counts what reaches it.
func TestPlainHTTPToRemoteHostIsRefused(t *testing.T) {
	t.Parallel()
	proxy, sent := proxyRecorder(t)
	env := []string{"HTTP_PROXY=" + proxy, "HTTPS_PROXY=" + proxy, "http_proxy=" + proxy, "https_proxy=" + proxy, "NO_PROXY=", "no_proxy=",
		"IMAGEKIT_PRIVATE_KEY=" + canaryKey}
	for _, url := range []string{"http://api.imagekit.invalid", "http://10.11.12.13:8080", "http://[2001:db8::1]/"} {
		for _, args := range [][]string{
			{"plan", "-f", exampleManifest},
			{"apply", "-f", exampleManifest, "--auto-approve", "--report", filepath.Join(t.TempDir(), "r.json")},
			{"export", "--out", filepath.Join(t.TempDir(), "lib.json")},
		} {
			t.Run(args[0]+" "+url, func(t *testing.T) {
				t.Parallel()
				r := tagprune(t, cmd{args: append(args, "--api-url", url), env: env})
				require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
				require.Contains(t, r.stderr, "plain http")
				requireNoLeak(t, "stderr", r.stderr)
				require.Zero(t, sent.Load(), "no request left the machine")
			})
		}
	}
}
