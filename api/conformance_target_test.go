package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
)

// This file sets up what the conformance suite runs against: the emulator
// in its real-API-like modes, or a real ImageKit account. Either way the
// suite creates its own files in a new folder through the upload API, reads
// nothing outside that folder, changes nothing outside it, and deletes the
// folder at the end.

// Environment variables of the live mode.
const (
	envLive      = "TAGPRUNE_LIVE_TEST"   // "1" runs the suite against a real account
	envKey       = "IMAGEKIT_PRIVATE_KEY" // the account's private key
	envAPIURL    = "IMAGEKIT_API_URL"     // the API's base URL; api.DefaultBaseURL when empty
	envUploadURL = "IMAGEKIT_UPLOAD_URL"  // the upload API's base URL; defaultUploadURL when empty
)

// defaultUploadURL is the upload API's base URL: uploads go to another host
// than the rest of the API.
const defaultUploadURL = "https://upload.imagekit.io"

// uploadPath is the upload endpoint, on the upload host.
const uploadPath = "/api/v1/files/upload"

// liveSettle bounds how long the live suite waits for a search to show a
// write: ImageKit's search may lag behind its writes, and how much is not
// documented. The emulator shows every write at once.
const liveSettle = 60 * time.Second

// emulatorKey is the private key the emulated account requires.
const emulatorKey = "conformance_private_key"

// conformance is one run of the suite: where it talks to, what it created,
// and every answer the API gave it.
type conformance struct {
	live      bool
	client    *api.Client
	hc        *http.Client // raw requests, through the same recording transport
	apiURL    string       // without a trailing slash or /v1
	uploadURL string       // without a trailing slash
	key       string
	answers   *answerLog
	settle    time.Duration

	root   string // the run's folder, "/tagprune-conformance-<random>/"
	prefix string // starts every tag the run sets, so that no other file can carry one

	files   map[string]fixture // by role
	aiFile  string             // the role of the file that carries AITags; "" when none does
	refused map[string]string  // odd tags the API refused to add, with its message
}

// fixture is a file the run created (or, on the emulator, found in its
// folder at the start).
type fixture struct {
	role   string
	id     string
	path   string
	tags   []string // its tags once set up
	aiTags []string // names of its AITags
}

// fixtureSpec is a file to upload: its folder under the run's root, its
// name, whether it is an image, and its tags (without the run's prefix).
type fixtureSpec struct {
	role, folder, name string
	image              bool
	tags               []string
}

// fixtureSpecs are the files every run uploads. Each subtest that changes
// tags works on the files under write/, and no two of them on the same tag.
var fixtureSpecs = []fixtureSpec{
	{role: "top", folder: "", name: "top.png", image: true, tags: []string{"sale"}},
	{role: "a", folder: "shoes/", name: "a.png", image: true, tags: []string{"sale", "keep"}},
	{role: "b", folder: "shoes/", name: "b.txt", tags: []string{"sale2019", "Sale"}},
	{role: "c", folder: "shoes/deep/", name: "c.png", image: true, tags: []string{"sale"}},
	{role: "d", folder: "shoes-old/", name: "d.png", image: true, tags: []string{"sale"}},
	{role: "e", folder: "plain/", name: "e.txt"},
	{role: "f", folder: "odd/", name: "f.png", image: true}, // the odd tags are added after the upload
	{role: "w1", folder: "write/", name: "w1.png", image: true, tags: []string{"w", "rm1"}},
	{role: "w2", folder: "write/", name: "w2.txt", tags: []string{"w", "only2"}},
}

// oddTags are tags with characters that a searchQuery must escape, or that
// other formats split on. Each is set on file f with its own addTags call
// (the upload API takes tags as one comma-separated field), after the run's
// prefix.
var oddTags = []string{`say "hi"`, `back\slash`, `comma,tag`, `two words`, `ünï-標籤`}

// aiSpec is the file with AITags that an emulated run starts with: ImageKit
// sets AITags only through its auto-tagging extensions, so a live run has
// no such file and skips what needs one.
var aiSpec = fixtureSpec{role: "g", folder: "ai/", name: "g.png", image: true}

// aiTagNames are the AITags of the emulated run's file g, after the prefix.
var aiTagNames = []string{"ai-sale", "ai-other"}

// emulatedConformance starts an emulator in its real-API-like modes:
// searches return folders unless they ask for files, every answer carries a
// request id, every endpoint has a per-second window and a 15-minute one,
// and a private key is required. Its library holds a file outside the run's
// folder, and inside it file g with AITags and an earlier version of g.
func emulatedConformance(t *testing.T) *conformance {
	t.Helper()
	root, prefix := runNames(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := imagekittest.File{
		FileID: "5f0000000000000000000abc", Type: "file", Name: aiSpec.name, FilePath: root + aiSpec.folder + aiSpec.name,
		FileType: "image", Mime: "image/png", Width: 1, Height: 1, Size: 67,
		CustomMetadata: map[string]any{}, CreatedAt: now, UpdatedAt: now,
	}
	for _, n := range aiTagNames {
		g.AITags = append(g.AITags, imagekittest.AITag{Name: prefix + n, Confidence: 93.5, Source: "google-auto-tagging"})
	}
	outside := imagekittest.File{
		FileID: "5f0000000000000000000def", Type: "file", Name: "a.png", FilePath: "/elsewhere/a.png",
		Tags: []string{prefix + "sale", prefix + "w"}, FileType: "image", CustomMetadata: map[string]any{}, CreatedAt: now, UpdatedAt: now,
	}
	older := g // an earlier version of g, which searches for files must leave out
	older.FileID, older.Type, older.AITags = "5f0000000000000000000abd", "file-version", nil
	older.VersionInfo = imagekittest.VersionInfo{ID: older.FileID, Name: "Version 1"}
	srv := imagekittest.NewServer([]imagekittest.File{outside, older, g}, realAPILike(emulatorKey)...)
	t.Cleanup(srv.Close)
	c := newConformance(t, false, srv.URL, srv.URL, emulatorKey, root, prefix)
	c.files[aiSpec.role] = fixture{role: aiSpec.role, id: g.FileID, path: g.FilePath, aiTags: prefixed(prefix, aiTagNames)}
	c.aiFile = aiSpec.role
	c.setUp(t)
	t.Cleanup(func() {
		after := srv.Handler().Files()
		i := slices.IndexFunc(after, func(f imagekittest.File) bool { return f.FileID == outside.FileID })
		if i < 0 || !slices.Equal(after[i].Tags, outside.Tags) {
			t.Errorf("the file outside the run's folder changed: the suite must touch nothing outside %s", root)
		}
	})
	return c
}

// realAPILike are the emulator options of the conformance suite's emulated
// account, requiring key.
func realAPILike(key string) []imagekittest.Option {
	return []imagekittest.Option{
		imagekittest.WithPrivateKey(key),
		imagekittest.WithFoldersInSearch(true),
		imagekittest.WithRateLimit(50),
		imagekittest.WithRateLimitWindow(3000, 15*time.Minute),
	}
}

// liveConformance returns the suite's target when getenv asks for the live
// mode: the account whose key IMAGEKIT_PRIVATE_KEY holds. It fails the test
// when the key is missing or a URL is not one the key may be sent to.
func liveConformance(t *testing.T, getenv func(string) string) *conformance {
	t.Helper()
	key := getenv(envKey)
	if key == "" {
		t.Fatalf("%s=1 runs the conformance suite against a real account: set %s to its private key", envLive, envKey)
	}
	apiURL := getenv(envAPIURL)
	if apiURL == "" {
		apiURL = api.DefaultBaseURL
	}
	uploadURL := getenv(envUploadURL)
	if uploadURL == "" {
		uploadURL = defaultUploadURL
	}
	uploadURL = strings.TrimSuffix(strings.TrimRight(uploadURL, "/"), uploadPath)
	u, err := url.Parse(uploadURL)
	require.NoError(t, err, "%s", envUploadURL)
	if u.Scheme != "https" && (u.Scheme != "http" || !loopbackHost(u.Hostname())) {
		t.Fatalf("%s %q: the private key is sent there; use an https:// URL (http:// only on a loopback host)", envUploadURL, uploadURL)
	}
	root, prefix := runNames(t)
	c := newConformance(t, true, apiURL, uploadURL, key, root, prefix)
	t.Logf("live run against %s (uploads to %s) in folder %s", c.apiURL, c.uploadURL, c.root)
	c.setUp(t)
	return c
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runNames returns a new folder for the run and the prefix of its tags:
// lowercase letters and digits only, which folder names and tags accept.
func runNames(t *testing.T) (root, prefix string) {
	t.Helper()
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 10)
	_, err := rand.Read(b)
	require.NoError(t, err)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "/tagprune-conformance-" + string(b) + "/", "tpc" + string(b) + "-"
}

func prefixed(prefix string, tags []string) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = prefix + t
	}
	return out
}

// newConformance returns the client and the raw HTTP client of a run; both
// record every answer.
func newConformance(t *testing.T, live bool, apiURL, uploadURL, key, root, prefix string) *conformance {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	log := &answerLog{}
	hc := &http.Client{
		Transport:     &recordingTransport{base: tr, log: log},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       2 * time.Minute,
	}
	client, err := api.New(api.WithBaseURL(apiURL), api.WithPrivateKey(key), api.WithHTTPClient(hc))
	require.NoError(t, err)
	c := &conformance{
		live: live, client: client, hc: hc, apiURL: client.BaseURL(), uploadURL: strings.TrimRight(uploadURL, "/"),
		key: key, answers: log, root: root, prefix: prefix, files: map[string]fixture{}, refused: map[string]string{},
	}
	if live {
		c.settle = liveSettle
	}
	return c
}

// setUp checks that the run's folder holds nothing it does not expect,
// arranges for the folder's deletion, uploads the fixtures, adds the odd
// tags, and waits until a search shows them all.
func (c *conformance) setUp(t *testing.T) {
	t.Helper()
	expected := map[string]bool{}
	for _, f := range c.files {
		expected[f.id] = true
	}
	for _, f := range c.search(t, c.inRoot("")) {
		if !expected[f.FileID] {
			t.Fatalf("folder %s already holds %s: the suite works only in a folder of its own; nothing was changed", c.root, f.FilePath)
		}
	}
	t.Cleanup(func() { c.deleteFolder(t) })

	pngBytes, textBytes := onePixelPNG(t), []byte("tagprune conformance\n")
	for _, s := range fixtureSpecs {
		content := textBytes
		if s.image {
			content = pngBytes
		}
		tags := prefixed(c.prefix, s.tags)
		id, path := c.upload(t, c.root+s.folder, s.name, content, tags)
		c.files[s.role] = fixture{role: s.role, id: id, path: path, tags: tags}
	}
	// One call per odd tag: a tag the API refuses is recorded for the
	// subtest that needs it instead of ending the run here.
	f := c.files["f"]
	for _, tag := range prefixed(c.prefix, oddTags) {
		_, err := c.client.AddTags(context.Background(), []string{f.id}, []string{tag})
		var ae *api.Error
		if errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest {
			c.refused[tag] = ae.Message
			continue
		}
		require.NoError(t, err, "adding tag %q to %s", tag, f.path)
		f.tags = append(f.tags, tag)
	}
	c.files["f"] = f

	// The files are awaited with the tags the API stored, which the
	// subtests compare with the tags sent: a difference fails the subtest
	// that depends on it, not the whole run.
	stored := map[string][]string{}
	for role, f := range c.files {
		d, err := c.client.Details(context.Background(), f.id)
		require.NoError(t, err, "details of %s", f.path)
		stored[role] = d.Tags
	}
	c.eventually(t, "every uploaded file is found with its tags", func() error {
		found := map[string]api.File{}
		for _, g := range c.search(t, c.inRoot(`type = "file"`)) {
			found[g.FileID] = g
		}
		for role, want := range c.files {
			got, ok := found[want.id]
			switch {
			case !ok:
				return fmt.Errorf("%s (%s) is not found", want.path, want.id)
			case !sameSet(got.Tags, stored[role]):
				return fmt.Errorf("%s has tags %q, want %q", want.path, got.Tags, stored[role])
			}
		}
		return nil
	})
}

// file returns the fixture of a role.
func (c *conformance) file(role string) fixture {
	f, ok := c.files[role]
	if !ok {
		panic("no fixture " + role)
	}
	return f
}

// ids returns the fileIds of roles.
func (c *conformance) ids(roles ...string) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = c.file(r).id
	}
	return out
}

// tag returns a tag of the run: the prefix and name.
func (c *conformance) tag(name string) string { return c.prefix + name }

// inRoot returns a searchQuery for the run's folder and its subfolders,
// ANDed with more when it is not empty.
func (c *conformance) inRoot(more string) string {
	q := fmt.Sprintf("path : %s", quoteQuery(c.root))
	if more != "" {
		q += " AND " + more
	}
	return q
}

// search returns every file a searchQuery finds, through the client.
func (c *conformance) search(t *testing.T, query string) []api.File {
	t.Helper()
	c.requireScoped(t, query)
	var out []api.File
	for f, err := range c.client.List(context.Background(), api.ListParams{SearchQuery: query}) {
		require.NoError(t, err, "searchQuery %s", query)
		out = append(out, f)
	}
	return out
}

// searchIDs returns the fileIds a searchQuery finds, in the API's order.
func (c *conformance) searchIDs(t *testing.T, query string) []string {
	t.Helper()
	var ids []string
	for _, f := range c.search(t, query) {
		ids = append(ids, f.FileID)
	}
	return ids
}

// requireScoped fails the test before a search that could read outside the
// run's folder: every search the suite sends names the folder or one below
// it.
func (c *conformance) requireScoped(t *testing.T, query string) {
	t.Helper()
	if !strings.Contains(query, `"`+c.root) && !strings.Contains(query, quoteQuery(strings.TrimSuffix(c.root, "/"))) {
		t.Fatalf("searchQuery %s does not name the run's folder %s: the suite reads nothing outside it", query, c.root)
	}
}

// details returns a file as the details endpoint gives it.
func (c *conformance) details(t *testing.T, role string) api.File {
	t.Helper()
	f, err := c.client.Details(context.Background(), c.file(role).id)
	require.NoError(t, err, "details of %s", c.file(role).path)
	return f
}

// eventually runs check until it succeeds, for up to the run's settle time
// (once on the emulator), and fails the test with its last error.
func (c *conformance) eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	start := time.Now()
	wait := 500 * time.Millisecond
	for {
		err := check()
		if err == nil {
			if d := time.Since(start); c.settle > 0 && d > wait {
				t.Logf("%s after %s", what, d.Round(100*time.Millisecond))
			}
			return
		}
		if time.Since(start)+wait > c.settle {
			t.Fatalf("%s: %v (waited %s)", what, err, time.Since(start).Round(time.Second))
		}
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}

// upload sends a file to the upload API (multipart, Basic auth) without a
// unique-name suffix, and returns its fileId and filePath.
func (c *conformance) upload(t *testing.T, folder, name string, content []byte, tags []string) (id, path string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("file", name)
	require.NoError(t, err)
	_, err = part.Write(content)
	require.NoError(t, err)
	fields := [][2]string{{"fileName", name}, {"folder", folder}, {"useUniqueFileName", "false"}}
	if len(tags) > 0 {
		fields = append(fields, [2]string{"tags", strings.Join(tags, ",")})
	}
	for _, f := range fields {
		require.NoError(t, w.WriteField(f[0], f[1]))
	}
	require.NoError(t, w.Close())
	status, _, answer := c.send(t, func() *http.Request {
		req, err := http.NewRequest(http.MethodPost, c.uploadURL+uploadPath, bytes.NewReader(body.Bytes()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return req
	})
	require.Equal(t, http.StatusOK, status, "upload of %s%s: %s", folder, name, c.redact(string(answer)))
	var up struct {
		FileID   string `json:"fileId"`
		FilePath string `json:"filePath"`
	}
	require.NoError(t, json.Unmarshal(answer, &up), "upload answer")
	require.NotEmpty(t, up.FileID, "upload answer has a fileId")
	require.Equal(t, folder+name, up.FilePath, "the file is where it was sent")
	return up.FileID, up.FilePath
}

// deleteFolder deletes the run's folder and everything in it (DELETE
// /v1/folder). A folder that is not there is fine: nothing was uploaded.
func (c *conformance) deleteFolder(t *testing.T) {
	status, _, answer := c.raw(t, http.MethodDelete, "/v1/folder", nil, map[string]string{"folderPath": c.root})
	switch status {
	case http.StatusNoContent, http.StatusOK, http.StatusNotFound:
	default:
		t.Errorf("deleting folder %s: HTTP %d %s; delete it by hand", c.root, status, c.redact(string(answer)))
	}
}

// raw sends one API request without the client (for what the client would
// refuse to send, and to see answers as they are) and returns its status,
// headers and body. A JSON body is sent as application/json.
func (c *conformance) raw(t *testing.T, method, path string, query url.Values, body any) (int, http.Header, []byte) {
	t.Helper()
	var data []byte
	if body != nil {
		var err error
		data, err = json.Marshal(body)
		require.NoError(t, err)
	}
	u := c.apiURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return c.send(t, func() *http.Request {
		var rd io.Reader
		if data != nil {
			rd = bytes.NewReader(data)
		}
		req, err := http.NewRequest(method, u, rd)
		require.NoError(t, err)
		if data != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req
	})
}

// send sends the request newReq builds with the run's credentials and
// returns the answer; it waits out a 429 (X-RateLimit-Reset) and retries a
// 5xx or a broken connection a few times, as a careful client would.
func (c *conformance) send(t *testing.T, newReq func() *http.Request) (int, http.Header, []byte) {
	t.Helper()
	const attempts = 5
	for i := 1; ; i++ {
		req := newReq()
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.key+":")))
		req.Header.Set("Accept", "application/json")
		resp, err := c.hc.Do(req)
		if err != nil {
			require.Less(t, i, attempts, "%s %s: %s", req.Method, req.URL.Path, c.redact(err.Error()))
			time.Sleep(time.Duration(i) * time.Second)
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		wait := time.Duration(0)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			ms, _ := strconv.Atoi(resp.Header.Get("X-RateLimit-Reset"))
			wait = time.Duration(max(ms, 100)) * time.Millisecond
		case resp.StatusCode >= 500:
			wait = time.Duration(i) * time.Second
		}
		if wait == 0 || i == attempts {
			return resp.StatusCode, resp.Header, b
		}
		require.LessOrEqual(t, wait, 15*time.Minute, "X-RateLimit-Reset")
		time.Sleep(wait)
	}
}

// redact removes the private key from s, in the forms it is sent in.
func (c *conformance) redact(s string) string {
	for _, k := range []string{c.key, base64.StdEncoding.EncodeToString([]byte(c.key + ":"))} {
		s = strings.ReplaceAll(s, k, "[REDACTED]")
	}
	return s
}

// seenAnswer is what the suite records of one answer of the API.
type seenAnswer struct {
	method, path string
	status       int
	header       http.Header
}

// answerLog holds every answer of the API (uploads excepted: the upload API
// is not rate limited) that the run received.
type answerLog struct {
	mu  sync.Mutex
	all []seenAnswer
}

func (l *answerLog) add(a seenAnswer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, a)
}

func (l *answerLog) Answers() []seenAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.all)
}

// recordingTransport records every answer it carries.
type recordingTransport struct {
	base http.RoundTripper
	log  *answerLog
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(req)
	if err == nil && req.URL.Path != uploadPath {
		rt.log.add(seenAnswer{method: req.Method, path: req.URL.Path, status: resp.StatusCode, header: resp.Header.Clone()})
	}
	return resp, err
}

// onePixelPNG returns a 1×1 PNG image.
func onePixelPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.NRGBA{R: 0x2a, G: 0x7a, B: 0xe2, A: 0xff})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// quoteQuery returns s as a searchQuery string, escaped as the conformance
// suite's own oracle: in double quotes, with " and \ after a backslash.
// TestConformance's escaping subtest checks that tagprune's planner
// escapes the same way.
func quoteQuery(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y)) && len(a) == len(b)
}
