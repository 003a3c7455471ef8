package imagekittest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// helpText is the help field of every error answer, as the API sends it.
const helpText = "For support kindly contact us at support@imagekit.io ."

// UnlimitedRateLimit is the X-RateLimit-Limit a Handler without a rate
// limit announces, so that clients that pace themselves by it never wait.
const UnlimitedRateLimit = 10000

// maxBody bounds the request bodies the emulator reads.
const maxBody = 10 << 20

// Handler is an http.Handler that serves an in-memory ImageKit media
// library. It is safe for concurrent use.
type Handler struct {
	cfg     config
	store   *store
	limiter *limiter
	closing chan struct{}
	once    sync.Once

	rngMu sync.Mutex
	rng   *rand.Rand

	logMu    sync.Mutex
	stats    Stats
	requests []logEntry
}

// logEntry is a logged request; its body is parsed only when asked for.
type logEntry struct {
	req  Request
	body []byte
}

// Stats counts the API requests a Handler has seen, as GET /_emulator/stats
// serves them.
type Stats struct {
	Requests    RequestCounts `json:"requests"`
	RateLimited int64         `json:"rateLimited"` // requests answered 429
	Faults      int64         `json:"faults"`      // injected 500s, 207s, drops, hangs and latency spikes
}

// RequestCounts counts the requests to each endpoint as they arrive,
// rate-limited and failed ones included.
type RequestCounts struct {
	List       int64 `json:"list"`       // GET /v1/files
	Details    int64 `json:"details"`    // GET /v1/files/{id}/details
	RemoveTags int64 `json:"removeTags"` // POST /v1/files/removeTags
	AddTags    int64 `json:"addTags"`    // POST /v1/files/addTags
	Delete     int64 `json:"delete"`     // DELETE /v1/files/{id}
}

// Request is one API request as GET /_emulator/requests serves it.
type Request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`  // the raw, still encoded, query string
	Body   any    `json:"body"`   // the body as parsed JSON, or nil
	Status int    `json:"status"` // 0 while unanswered, or when the client gave up first
}

// NewHandler returns a Handler that serves a copy of files, in that order.
// It panics when two files share a fileId or a fileId is empty; use
// LoadLibrary to check a library first.
func NewHandler(files []File, opts ...Option) *Handler {
	h, err := newHandler(files, opts...)
	if err != nil {
		panic("imagekittest: " + err.Error())
	}
	return h
}

func newHandler(files []File, opts ...Option) (*Handler, error) {
	cfg := config{clock: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	copied := make([]File, len(files))
	for i := range files {
		copied[i] = clone(files[i])
	}
	st, err := newStore(copied)
	if err != nil {
		return nil, err
	}
	seed := uint64(cfg.seed)
	return &Handler{
		cfg:     cfg,
		store:   st,
		limiter: newLimiter(cfg.rateLimit),
		closing: make(chan struct{}),
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}, nil
}

// Files returns a copy of the library as it is now, in library order.
func (h *Handler) Files() []File { return h.store.files() }

// Stats returns the request counts so far.
func (h *Handler) Stats() Stats {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return h.stats
}

// Requests returns every API request seen so far, oldest first.
func (h *Handler) Requests() []Request {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	out := make([]Request, len(h.requests))
	for i, le := range h.requests {
		out[i] = le.req
		if len(le.body) > 0 && json.Unmarshal(le.body, &out[i].Body) != nil {
			out[i].Body = nil
		}
	}
	return out
}

// release ends every held (hanging) request; the Handler keeps serving.
func (h *Handler) release() { h.once.Do(func() { close(h.closing) }) }

// ServeHTTP serves the API under /v1/ and the introspection endpoints under
// /_emulator/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_emulator/") {
		h.serveIntrospection(w, r)
		return
	}
	h.serveAPI(w, r)
}

func (h *Handler) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/_emulator/stats":
		writeJSON(w, http.StatusOK, h.Stats())
	case r.Method == http.MethodGet && r.URL.Path == "/_emulator/requests":
		writeJSON(w, http.StatusOK, h.Requests())
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no emulator endpoint %s %s: use GET /_emulator/stats or GET /_emulator/requests", r.Method, r.URL.Path))
	}
}

// route names the endpoint of an API request ("" when unknown) and the
// file id in its path.
func route(r *http.Request) (endpoint, id string) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/files")
	if !ok {
		return "", ""
	}
	switch {
	case rest == "" || rest == "/":
		if r.Method == http.MethodGet {
			return "list", ""
		}
	case rest == "/removeTags":
		if r.Method == http.MethodPost {
			return "removeTags", ""
		}
	case rest == "/addTags":
		if r.Method == http.MethodPost {
			return "addTags", ""
		}
	case strings.HasSuffix(rest, "/details"):
		id := strings.TrimSuffix(strings.TrimPrefix(rest, "/"), "/details")
		if r.Method == http.MethodGet && id != "" && !strings.Contains(id, "/") {
			return "details", id
		}
	default:
		id := strings.TrimPrefix(rest, "/")
		if r.Method == http.MethodDelete && id != "" && !strings.Contains(id, "/") {
			return "delete", id
		}
	}
	return "", ""
}

// faults is what the fault injection decided for one request.
type faults struct {
	fail, drop, hang, spike bool
}

func (h *Handler) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return h.rng.Float64() < p
}

func (h *Handler) drawFaults() faults {
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	return faults{
		hang:  h.chance(h.cfg.hangRate),
		fail:  h.chance(h.cfg.failRate),
		drop:  h.chance(h.cfg.dropRate),
		spike: h.chance(h.cfg.spikeRate),
	}
}

func (h *Handler) countFault() {
	h.logMu.Lock()
	h.stats.Faults++
	h.logMu.Unlock()
}

// arrive counts and logs a request as it arrives and returns its log index.
func (h *Handler) arrive(r *http.Request, endpoint string, body []byte) int {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	switch endpoint {
	case "list":
		h.stats.Requests.List++
	case "details":
		h.stats.Requests.Details++
	case "removeTags":
		h.stats.Requests.RemoveTags++
	case "addTags":
		h.stats.Requests.AddTags++
	case "delete":
		h.stats.Requests.Delete++
	}
	h.requests = append(h.requests, logEntry{
		req:  Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery},
		body: body,
	})
	return len(h.requests) - 1
}

func (h *Handler) answered(i, status int) {
	h.logMu.Lock()
	h.requests[i].req.Status = status
	h.logMu.Unlock()
}

func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	endpoint, id := route(r)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	readErr := err
	if err == nil && len(body) > maxBody {
		readErr = fmt.Errorf("request body is larger than %d bytes", maxBody)
	}
	idx := h.arrive(r, endpoint, body)
	rec := newRecorder()
	status := h.answer(rec, r, endpoint, id, body, readErr)
	if status == 0 {
		// Held until the client gave up or the server closed: send nothing.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
		return
	}
	if status < 0 {
		h.answered(idx, -status)
		h.countFault()
		dropResponse(w, rec)
		return
	}
	h.answered(idx, status)
	rec.copyTo(w)
}

// answer handles one API request into rec and returns the status written,
// 0 when no answer must be sent, or minus the status when the connection
// must be dropped in the middle of the answer.
func (h *Handler) answer(rec *recorder, r *http.Request, endpoint, id string, body []byte, readErr error) int {
	if h.cfg.privateKey != "" && !h.authorized(r) {
		h.limiter.headers(rec.Header(), endpoint, false)
		msg := "Your request does not contain a private API key: send it as the user name of Basic auth."
		if r.Header.Get("Authorization") != "" {
			msg = "Your request contains an invalid private API key: send the account's private key as the user name of Basic auth."
		}
		writeError(rec, http.StatusUnauthorized, msg)
		return rec.status
	}
	if !h.limiter.headers(rec.Header(), endpoint, true) {
		h.logMu.Lock()
		h.stats.RateLimited++
		h.logMu.Unlock()
		writeError(rec, http.StatusTooManyRequests, "Too many requests: wait X-RateLimit-Reset milliseconds before calling this endpoint again.")
		return rec.status
	}
	fl := h.drawFaults()
	if fl.hang {
		h.countFault()
		select {
		case <-r.Context().Done():
		case <-h.closing:
		}
		return 0
	}
	wait := h.cfg.latency
	if fl.spike {
		h.countFault()
		wait += h.cfg.spikeLatency
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return 0
		}
	}
	if fl.fail {
		h.countFault()
		writeError(rec, http.StatusInternalServerError, "Internal server error: the request failed and changed nothing; try again.")
		return rec.status
	}
	if readErr != nil {
		writeError(rec, http.StatusBadRequest, fmt.Sprintf("could not read the request body: %v", readErr))
		return rec.status
	}
	switch endpoint {
	case "list":
		h.list(rec, r)
	case "details":
		h.details(rec, id)
	case "removeTags":
		h.updateTags(rec, body, false)
	case "addTags":
		h.updateTags(rec, body, true)
	case "delete":
		h.delete(rec, id)
	default:
		writeError(rec, http.StatusNotFound, fmt.Sprintf("no API endpoint %s %s: the emulator serves GET /v1/files, GET /v1/files/{id}/details, POST /v1/files/removeTags, POST /v1/files/addTags and DELETE /v1/files/{id}", r.Method, r.URL.Path))
	}
	if fl.drop {
		return -rec.status
	}
	return rec.status
}

// authorized reports whether r carries Basic auth with the private key as
// its user name.
func (h *Handler) authorized(r *http.Request) bool {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Basic ")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return false
	}
	user, _, _ := strings.Cut(string(raw), ":")
	return user == h.cfg.privateKey
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := func(format string, args ...any) { writeError(w, http.StatusBadRequest, fmt.Sprintf(format, args...)) }
	typ := q.Get("type")
	switch typ {
	case "":
		typ = "file"
	case "file", "file-version", "folder", "all":
	default:
		bad("type %q is not supported: use file, file-version, folder or all", typ)
		return
	}
	sp, err := parseSort(q.Get("sort"))
	if err != nil {
		bad("%v", err)
		return
	}
	skip, limit := 0, 1000
	if v := q.Get("skip"); v != "" {
		if skip, err = strconv.Atoi(v); err != nil || skip < 0 {
			bad("skip %q is not a number of files to skip: use an integer from 0", v)
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			bad("limit %q is out of range: use an integer from 1 to 1000", v)
			return
		}
	}
	lf := listFilter{typ: typ, fileType: q.Get("fileType")}
	switch lf.fileType {
	case "", "all", "image", "non-image":
	default:
		bad("fileType %q is not supported: use all, image or non-image", lf.fileType)
		return
	}
	if p := q.Get("path"); p != "" {
		if !strings.HasPrefix(p, "/") {
			bad("path %q must start with /", p)
			return
		}
		if !strings.HasSuffix(p, "/") {
			p += "/"
		}
		lf.folder = p
	}
	if sq := q.Get("searchQuery"); sq != "" {
		query, err := ParseQuery(sq, h.cfg.clock())
		if err != nil {
			bad("Invalid searchQuery: %v", err)
			return
		}
		lf.query = query
	}
	items := make([]any, 0, min(limit, 64))
	if lf.query == nil && (typ == "folder" || typ == "all") {
		folders := h.store.listFolders(lf.folder, sp)
		from := min(skip, len(folders))
		for _, f := range folders[from:min(len(folders), skip+limit)] {
			items = append(items, f)
		}
		skip -= from
		limit -= len(items)
		lf.typ = "file"
	}
	if typ != "folder" || lf.query != nil {
		if limit > 0 {
			files := h.store.listFiles(&lf, sp, skip, limit)
			for _, f := range files {
				items = append(items, f)
			}
		}
	}
	writeJSON(w, http.StatusOK, items)
}

func (h *Handler) details(w http.ResponseWriter, id string) {
	f, ok := h.store.get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "The requested file does not exist.")
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (h *Handler) delete(w http.ResponseWriter, id string) {
	if !h.store.remove(id) {
		writeError(w, http.StatusNotFound, "The requested file does not exist.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tagsRequest is the body of removeTags and addTags.
type tagsRequest struct {
	FileIDs []string `json:"fileIds"`
	Tags    []string `json:"tags"`
}

func (h *Handler) updateTags(w http.ResponseWriter, body []byte, add bool) {
	var req tagsRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed JSON body: %v; send {\"fileIds\": [...], \"tags\": [...]}", err))
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed JSON body: data after the JSON object; send {\"fileIds\": [...], \"tags\": [...]}")
		return
	}
	if msg := validateTagsRequest(req); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	failing := h.failingFiles(req.FileIDs, add)
	failMsg := "Error in removing tags"
	if add {
		failMsg = "Error in adding tags"
	}
	res, missing := h.store.updateTags(req.FileIDs, req.Tags, add, h.cfg.clock(), func(id string) string {
		if failing[id] {
			return failMsg
		}
		return ""
	})
	if len(missing) > 0 {
		writeJSON(w, http.StatusNotFound, struct {
			Message        string   `json:"message"`
			Help           string   `json:"help"`
			MissingFileIDs []string `json:"missingFileIds"`
		}{"The requested file(s) does not exist.", helpText, missing})
		return
	}
	if res.Updated == nil {
		res.Updated = []string{}
	}
	if len(res.Failed) > 0 {
		h.countFault()
		writeJSON(w, http.StatusMultiStatus, struct {
			Updated []string    `json:"successfullyUpdatedFileIds"`
			Errors  []fileError `json:"errors"`
		}{res.Updated, res.Failed})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Updated []string `json:"successfullyUpdatedFileIds"`
	}{res.Updated})
}

func validateTagsRequest(req tagsRequest) string {
	switch {
	case len(req.FileIDs) == 0:
		return "fileIds is missing or empty: give from 1 to 50 file ids"
	case len(req.FileIDs) > 50:
		return fmt.Sprintf("fileIds has %d entries: a maximum of 50 files can be specified at a time", len(req.FileIDs))
	case len(req.Tags) == 0:
		return "tags is missing or empty: give at least one tag"
	}
	for i, id := range req.FileIDs {
		if id == "" {
			return fmt.Sprintf("fileIds[%d] is an empty string: give file ids", i)
		}
	}
	for i, t := range req.Tags {
		if t == "" {
			return fmt.Sprintf("tags[%d] is an empty string: give non-empty tags", i)
		}
	}
	return ""
}

// failingFiles decides which files of a removeTags call fail: the
// WithFailFiles ids, and with the partial rate a random non-empty subset.
func (h *Handler) failingFiles(ids []string, add bool) map[string]bool {
	if add {
		return nil
	}
	failing := make(map[string]bool)
	for _, id := range ids {
		if h.cfg.failFiles[id] {
			failing[id] = true
		}
	}
	if h.cfg.partialRate <= 0 {
		return failing
	}
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	if !h.chance(h.cfg.partialRate) {
		return failing
	}
	var uniq []string
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	picked := false
	for _, id := range uniq {
		if h.rng.IntN(2) == 0 {
			failing[id], picked = true, true
		}
	}
	if !picked {
		failing[uniq[h.rng.IntN(len(uniq))]] = true
	}
	return failing
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(map[string]string{"message": "could not encode the answer: " + err.Error(), "help": helpText})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// writeError writes the API's error shape {message, help}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Message string `json:"message"`
		Help    string `json:"help"`
	}{msg, helpText})
}

// recorder holds an answer until it is sent whole, or dropped halfway.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(p)
}

func (rec *recorder) copyTo(w http.ResponseWriter) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// dropResponse sends the status, the headers and half of the body, then
// closes the connection, so the client sees a truncated answer.
func dropResponse(w http.ResponseWriter, rec *recorder) {
	body := rec.body.Bytes()
	part := body[:len(body)/2]
	if hj, ok := w.(http.Hijacker); ok {
		conn, buf, err := hj.Hijack()
		if err == nil {
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.status, http.StatusText(rec.status))
			rec.header.Set("Content-Length", strconv.Itoa(len(body)))
			rec.header.Set("Connection", "close")
			_ = rec.header.Write(buf)
			_, _ = buf.WriteString("\r\n")
			_, _ = buf.Write(part)
			_ = buf.Flush()
			return
		}
	}
	// Without a connection to close, promise the whole body and send half:
	// the server then closes the connection after the handler returns.
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status)
	_, _ = w.Write(part)
}

// limiter is one token bucket per endpoint.
type limiter struct {
	mu      sync.Mutex
	n       int
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(n int) *limiter { return &limiter{n: n, buckets: map[string]*bucket{}} }

// headers sets the rate limit headers for a request to endpoint and, when
// take is true, takes a token; it reports whether the request may proceed.
func (l *limiter) headers(hdr http.Header, endpoint string, take bool) bool {
	hdr.Set("X-RateLimit-Interval", "1000")
	if l.n == 0 || endpoint == "" {
		limit := l.n
		if limit == 0 {
			limit = UnlimitedRateLimit
		}
		hdr.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		hdr.Set("X-RateLimit-Reset", "0")
		return true
	}
	hdr.Set("X-RateLimit-Limit", strconv.Itoa(l.n))
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b := l.buckets[endpoint]
	if b == nil {
		b = &bucket{tokens: float64(l.n), last: now}
		l.buckets[endpoint] = b
	}
	b.tokens = math.Min(float64(l.n), b.tokens+now.Sub(b.last).Seconds()*float64(l.n))
	b.last = now
	ok := b.tokens >= 1
	if ok && take {
		b.tokens--
	}
	reset := int64(0)
	if b.tokens < 1 {
		reset = int64(math.Ceil((1 - b.tokens) / float64(l.n) * 1000))
	}
	hdr.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	return ok || !take
}
