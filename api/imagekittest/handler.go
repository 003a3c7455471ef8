package imagekittest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// helpText is the help field of every error answer, as the API sends it.
const helpText = "For support kindly contact us at support@imagekit.io ."

// RequestIDHeader is the header that carries the id of every answer, as
// the API sends it (ImageKit support asks for it). Header names are
// case-insensitive; net/http sends it as X-Ik-Requestid.
const RequestIDHeader = "x-ik-requestId"

// maxBody bounds the JSON request bodies the emulator reads.
const maxBody = 10 << 20

// maxUpload bounds an upload request's body.
const maxUpload = 32 << 20

// Handler is an http.Handler that serves an in-memory ImageKit media
// library. It is safe for concurrent use.
type Handler struct {
	cfg     config
	lib     *Library
	store   *store
	limiter *limiter
	closing chan struct{}
	once    sync.Once
	ids     atomic.Uint64 // requests answered, for their ids
	idBase  uint64

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
	Faults      int64         `json:"faults"`      // injected errors, 207s, drops, hangs, latency spikes and ignored skips
}

// RequestCounts counts the requests to each endpoint as they arrive,
// rate-limited and failed ones included.
type RequestCounts struct {
	List         int64 `json:"list"`         // GET /v1/files
	Details      int64 `json:"details"`      // GET /v1/files/{id}/details
	RemoveTags   int64 `json:"removeTags"`   // POST /v1/files/removeTags
	AddTags      int64 `json:"addTags"`      // POST /v1/files/addTags
	Delete       int64 `json:"delete"`       // DELETE /v1/files/{id}
	RemoveAITags int64 `json:"removeAITags"` // POST /v1/files/removeAITags
	Upload       int64 `json:"upload"`       // POST /api/v1/files/upload
	DeleteFolder int64 `json:"deleteFolder"` // DELETE /v1/folder
}

// Request is one API request as GET /_emulator/requests serves it.
type Request struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`     // the raw, still encoded, query string
	Body      any    `json:"body"`      // the body as parsed JSON (an upload's form fields), or nil
	Status    int    `json:"status"`    // 0 while unanswered, or when the client gave up first
	RequestID string `json:"requestId"` // the x-ik-requestId of the answer
}

// NewHandler returns a Handler that serves a library of files, in that
// order. It panics when two files share a fileId or a fileId is empty; use
// NewLibrary or OpenLibrary to check a library first.
func NewHandler(files []File, opts ...Option) *Handler {
	lib, err := NewLibrary(files)
	if err != nil {
		panic("imagekittest: " + err.Error())
	}
	return NewLibraryHandler(lib, opts...)
}

// NewLibraryHandler returns a Handler that serves lib and changes it in
// place: lib.Changed and lib.WriteTo see what its requests did.
func NewLibraryHandler(lib *Library, opts ...Option) *Handler {
	cfg := newConfig()
	for _, o := range opts {
		o(&cfg)
	}
	seed := uint64(cfg.seed)
	return &Handler{
		cfg:     cfg,
		lib:     lib,
		store:   lib.s,
		limiter: newLimiter(&cfg),
		closing: make(chan struct{}),
		idBase:  rand.Uint64(),
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// Library returns the library the Handler serves.
func (h *Handler) Library() *Library { return h.lib }

// Files returns a copy of the library as it is now, in library order.
func (h *Handler) Files() []File { return h.lib.Files() }

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

// requestID returns a new id, unique to this handler's answers and, with
// overwhelming likelihood, to every handler's.
func (h *Handler) requestID() string {
	n := h.ids.Add(1)
	x := h.idBase
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(x>>32), uint16(x>>16), uint16(x)&0xfff, uint16(n>>48)&0xfff, n&0xffffffffffff)
}

// ServeHTTP serves the API under /v1/ (and uploads under /api/v1/) and the
// introspection endpoints under /_emulator/. Every answer carries an
// x-ik-requestId header.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := h.requestID()
	w.Header().Set(RequestIDHeader, id)
	if strings.HasPrefix(r.URL.Path, "/_emulator/") {
		h.serveIntrospection(w, r)
		return
	}
	h.serveAPI(w, r, id)
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
	switch p := r.URL.Path; {
	case p == "/api/v1/files/upload" && r.Method == http.MethodPost:
		return "upload", ""
	case (p == "/v1/folder" || p == "/v1/folder/") && r.Method == http.MethodDelete:
		return "deleteFolder", ""
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/files")
	if !ok {
		return "", ""
	}
	switch {
	case rest == "" || rest == "/":
		if r.Method == http.MethodGet {
			return "list", ""
		}
	case rest == "/removeTags" || rest == "/addTags" || rest == "/removeAITags":
		if r.Method == http.MethodPost {
			return rest[1:], ""
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

func (h *Handler) countFault() {
	h.logMu.Lock()
	h.stats.Faults++
	h.logMu.Unlock()
}

// arrive counts and logs a request as it arrives and returns its log index.
func (h *Handler) arrive(r *http.Request, endpoint string, body []byte, id string) int {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	counts := &h.stats.Requests
	switch endpoint {
	case "list":
		counts.List++
	case "details":
		counts.Details++
	case "removeTags":
		counts.RemoveTags++
	case "addTags":
		counts.AddTags++
	case "removeAITags":
		counts.RemoveAITags++
	case "delete":
		counts.Delete++
	case "upload":
		counts.Upload++
		body = nil // logged once parsed
	case "deleteFolder":
		counts.DeleteFolder++
	}
	h.requests = append(h.requests, logEntry{
		req:  Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, RequestID: id},
		body: body,
	})
	return len(h.requests) - 1
}

func (h *Handler) answered(i, status int) {
	h.logMu.Lock()
	h.requests[i].req.Status = status
	h.logMu.Unlock()
}

// logBody replaces the logged body of request i.
func (h *Handler) logBody(i int, body []byte) {
	h.logMu.Lock()
	h.requests[i].body = body
	h.logMu.Unlock()
}

func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, id string) {
	endpoint, fileID := route(r)
	limit := int64(maxBody)
	if endpoint == "upload" {
		limit = maxUpload
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	readErr := err
	if err == nil && int64(len(body)) > limit {
		readErr = fmt.Errorf("the request body is larger than the %d bytes the emulator accepts", limit)
	}
	idx := h.arrive(r, endpoint, body, id)
	rec := newRecorder()
	defer rec.free()
	rec.Header().Set(RequestIDHeader, id)
	call := apiCall{r: r, endpoint: endpoint, id: fileID, body: body, readErr: readErr, log: idx}
	status := h.answer(rec, &call)
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

// apiCall is one API request being answered.
type apiCall struct {
	r        *http.Request
	endpoint string
	id       string // the file id in the path
	body     []byte
	readErr  error
	log      int // its index in the request log
}

// answer handles one API request into rec and returns the status written,
// 0 when no answer must be sent, or minus the status when the connection
// must be dropped in the middle of the answer.
func (h *Handler) answer(rec *recorder, c *apiCall) int {
	r := c.r
	if h.cfg.privateKey != "" && !h.authorized(r) {
		h.limiter.headers(rec.Header(), c.endpoint, false)
		msg := "Your request does not contain a private API key: send it as the user name of Basic auth."
		if r.Header.Get("Authorization") != "" {
			msg = "Your request contains an invalid private API key: send the account's private key as the user name of Basic auth."
		}
		writeError(rec, http.StatusUnauthorized, msg)
		return rec.status
	}
	if !h.limiter.headers(rec.Header(), c.endpoint, true) {
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
	switch {
	case fl.fail:
		h.countFault()
		writeError(rec, http.StatusInternalServerError, faultMessage(http.StatusInternalServerError))
		return rec.status
	case fl.status != 0:
		h.countFault()
		writeError(rec, fl.status, faultMessage(fl.status))
		return rec.status
	case c.readErr != nil:
		writeError(rec, http.StatusBadRequest, fmt.Sprintf("could not read the request body: %v", c.readErr))
		return rec.status
	}
	switch c.endpoint {
	case "list":
		h.list(rec, r)
	case "details":
		h.details(rec, c.id)
	case "removeTags":
		h.updateTags(rec, c.body, opRemoveTags)
	case "addTags":
		h.updateTags(rec, c.body, opAddTags)
	case "removeAITags":
		h.updateTags(rec, c.body, opRemoveAITags)
	case "delete":
		h.delete(rec, c.id)
	case "upload":
		h.upload(rec, c)
	case "deleteFolder":
		h.deleteFolder(rec, c.body)
	default:
		writeError(rec, http.StatusNotFound, fmt.Sprintf("no API endpoint %s %s: the emulator serves GET /v1/files, GET /v1/files/{id}/details, "+
			"POST /v1/files/removeTags, POST /v1/files/addTags, POST /v1/files/removeAITags, DELETE /v1/files/{id}, DELETE /v1/folder "+
			"and POST /api/v1/files/upload", r.Method, r.URL.Path))
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
	lf := listFilter{fileType: q.Get("fileType")}
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
		// The type parameter has no effect with a searchQuery.
		lf.files = true
		all := query.typed || h.cfg.foldersInSearch
		lf.versions = all && query.kinds&kindVersion != 0
		lf.folders = all && query.kinds&kindFolder != 0
	} else {
		lf.files = typ == "file" || typ == "all"
		lf.versions = typ == "file-version"
		lf.folders = typ == "folder" || typ == "all"
	}
	if skip > 0 && h.cfg.ignoreSkip {
		h.countFault()
		skip = 0
	}
	bp := pageBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4<<20 {
			pageBuffers.Put(bp)
		}
	}()
	out := append((*bp)[:0], '[')
	n := 0
	if lf.folders {
		folders := h.store.listFolders(&lf, sp)
		from := min(skip, len(folders))
		for _, f := range folders[from:min(len(folders), skip+limit)] {
			if n > 0 {
				out = append(out, ',')
			}
			b, err := json.Marshal(f)
			if err != nil {
				panic("imagekittest: encode a folder: " + err.Error())
			}
			out = append(out, b...)
			n++
		}
		skip -= from
		limit -= n
	}
	if (lf.files || lf.versions) && limit > 0 {
		h.store.listFiles(&lf, sp, skip, limit, func(e *entry) {
			if n > 0 {
				out = append(out, ',')
			}
			out = e.appendAPI(out)
			n++
		})
	}
	out = append(out, ']')
	*bp = out
	writeRaw(w, http.StatusOK, out)
}

// pageBuffers are reused for the pages of listings.
var pageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func (h *Handler) details(w http.ResponseWriter, id string) {
	h.store.mu.RLock()
	var out []byte
	if e := h.store.byID[id]; e != nil {
		out = e.appendAPI(nil)
	}
	h.store.mu.RUnlock()
	if out == nil {
		writeError(w, http.StatusNotFound, "The requested file does not exist.")
		return
	}
	writeRaw(w, http.StatusOK, out)
}

func (h *Handler) delete(w http.ResponseWriter, id string) {
	if !h.store.remove(id) {
		writeError(w, http.StatusNotFound, "The requested file does not exist.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tagsRequest is the body of removeTags and addTags; AITags is that of
// removeAITags.
type tagsRequest struct {
	FileIDs []string `json:"fileIds"`
	Tags    []string `json:"tags"`
	AITags  []string `json:"AITags"`
}

func (h *Handler) updateTags(w http.ResponseWriter, body []byte, op tagOp) {
	key, shape := "tags", `{"fileIds": [...], "tags": [...]}`
	if op == opRemoveAITags {
		key, shape = "AITags", `{"fileIds": [...], "AITags": [...]}`
	}
	var req tagsRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed JSON body: %v; send %s", err, shape))
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed JSON body: data after the JSON object; send "+shape)
		return
	}
	tags := req.Tags
	if op == opRemoveAITags {
		tags = req.AITags
	}
	if msg := validateTagsRequest(req.FileIDs, key, tags); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if n := tagsLength(tags); op != opRemoveAITags && h.cfg.maxTagsLength > 0 && n > h.cfg.maxTagsLength {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Your request contains invalid value for tags parameter. "+
			"Combined length of all tags should be less than or equal to %d (these add up to %d characters): send them in several calls.",
			h.cfg.maxTagsLength, n))
		return
	}
	failing := h.failingFiles(req.FileIDs)
	failMsg := map[tagOp]string{opRemoveTags: "Error in removing tags", opAddTags: "Error in adding tags", opRemoveAITags: "Error in removing AITags"}[op]
	res, missing := h.store.updateTags(op, req.FileIDs, tags, h.cfg.clock(), func(id string) string {
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

// validateTagsRequest checks a tag call's body; key names its tag list.
// An empty string among the tags is refused: no source says what the API
// does with one, and a tag call that names no tag is a client's bug.
func validateTagsRequest(ids []string, key string, tags []string) string {
	switch {
	case len(ids) == 0:
		return "fileIds is missing or empty: give from 1 to 50 file ids"
	case len(ids) > 50:
		return fmt.Sprintf("fileIds has %d entries: a maximum of 50 files can be specified at a time", len(ids))
	case len(tags) == 0:
		return fmt.Sprintf("%s is missing or empty: give at least one tag", key)
	}
	for i, id := range ids {
		if id == "" {
			return fmt.Sprintf("fileIds[%d] is an empty string: give file ids", i)
		}
	}
	for i, t := range tags {
		if t == "" {
			return fmt.Sprintf("%s[%d] is an empty string: give non-empty tags", key, i)
		}
	}
	return ""
}

// tagsLength is the combined length of tags in characters (Unicode code
// points). Whether the API counts code points, UTF-16 units or bytes is
// not documented; for ASCII tags they agree.
func tagsLength(tags []string) int {
	n := 0
	for _, t := range tags {
		n += utf8.RuneCountInString(t)
	}
	return n
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(map[string]string{"message": "could not encode the answer: " + err.Error(), "help": helpText})
	}
	writeRaw(w, status, data)
}

// writeRaw writes data, valid JSON, as a JSON answer.
func writeRaw(w http.ResponseWriter, status int, data []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(status)
	_, _ = w.Write(data)
	_, _ = w.Write([]byte{'\n'})
}

// writeError writes the API's error shape {message, help}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Message string `json:"message"`
		Help    string `json:"help"`
	}{msg, helpText})
}
