package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// DefaultListPrefetch is how many page requests List keeps in flight
// unless WithListPrefetch says otherwise.
const DefaultListPrefetch = 4

// DefaultMaxListFiles is the most objects one listing may return unless
// WithMaxListFiles says otherwise: ten times the largest library tagprune
// is built and measured for (1,000,000 files). A listing that runs past it
// is taken for a server that does not page as documented.
const DefaultMaxListFiles = 10_000_000

// WithListPrefetch sets how many page requests List keeps in flight (default
// DefaultListPrefetch): n pages are read ahead while the caller consumes the
// current one, so a long listing costs about one latency per n pages instead
// of one per page. 1 reads the pages one after another; n below 1 means the
// default. The pacing of the list endpoint still spaces the requests' starts.
func WithListPrefetch(n int) Option { return func(c *Client) { c.listPrefetch = n } }

// WithMaxListFiles sets the most objects one List may read (default
// DefaultMaxListFiles; n below 1 means the default).
func WithMaxListFiles(n int) Option { return func(c *Client) { c.maxList = n } }

// List streams the files matching p, page after page (skip/limit), in the
// API's order. Iteration stops at the first error, which is yielded once
// with a zero File.
//
// Only objects of type "file" that have a fileId are yielded: folders and
// file versions, which a search may return, are dropped with a debug log
// line (see ListPage). Paging ends at the first answer holding fewer
// objects than the page size, dropped ones included.
//
// Errors: an *Error of kind ErrBadRequest for a Limit outside 0..1000 or a
// negative Skip (nothing sent); of kind ErrEndlessListing when a full page
// repeats the page before it (the server ignores skip) or the listing
// passes WithMaxListFiles' bound; of kind ErrStopped once the stop context
// (ContextWithStop) has ended; and every error ListPage returns.
//
// Up to WithListPrefetch's n page requests are in flight at once, and at
// most n pages are held, the one being yielded included. A listing starts
// with one request and keeps one more in flight after each full page, up to
// n, so a one-page search costs one request and a short one wastes little.
// The pages are still yielded strictly in order. Requests already sent
// beyond the last page (at most n-1, each answered with an empty page) are
// let finish and their answers discarded, so that every request counted in
// Stats reached the API; when the caller stops iterating, ctx ends or a page
// fails, the requests in flight are cancelled instead. No page is asked
// for once the stop context has ended. List returns only once none of its
// requests is left running.
func (c *Client) List(ctx context.Context, p ListParams) iter.Seq2[File, error] {
	return func(yield func(File, error) bool) {
		if p.Limit == 0 {
			p.Limit = MaxPageSize
		}
		n := c.listPrefetch
		if n < 1 {
			n = DefaultListPrefetch
		}
		l := &listing{c: c, p: p, max: c.maxList}
		if l.max < 1 {
			l.max = DefaultMaxListFiles
		}
		if n == 1 {
			l.sequential(ctx, yield)
			return
		}
		l.ahead(ctx, n, yield)
	}
}

// listing is the state of one List: what it has read so far.
type listing struct {
	c      *Client
	p      ListParams
	max    int      // objects the listing may read
	read   int      // objects read so far
	last   [32]byte // fingerprint of the last full page
	anyYet bool     // a full page has been read
}

// check rejects a page that shows the listing will not end: a full page
// equal to the full page before it, or a page beyond the bound.
func (l *listing) check(pg pageResult) error {
	l.read += pg.page.Objects
	if pg.page.Objects < l.p.Limit {
		return nil
	}
	fail := func(format string, args ...any) error {
		return &Error{Op: OpList, Method: http.MethodGet, URL: pg.url, StatusCode: http.StatusOK,
			RequestID: pg.page.RequestID, Kind: ErrEndlessListing, Err: fmt.Errorf(format, args...)}
	}
	if l.anyYet && pg.fingerprint == l.last {
		return fail("the page at skip %d repeats the page before it: the server ignores skip", pg.skip)
	}
	l.anyYet, l.last = true, pg.fingerprint
	if l.read >= l.max {
		return fail("%d objects read without reaching the end, the most one listing may read; the server may be ignoring skip", l.read)
	}
	return nil
}

// sequential yields the pages of the listing, requesting each after the last.
func (l *listing) sequential(ctx context.Context, yield func(File, error) bool) {
	p := l.p
	for {
		pg := l.c.listPage(ctx, p)
		if pg.err == nil {
			pg.err = l.check(pg)
		}
		if pg.err != nil {
			yield(File{}, pg.err)
			return
		}
		for _, f := range pg.page.Files {
			if !yield(f, nil) {
				return
			}
		}
		if pg.page.Objects < p.Limit {
			return
		}
		p.Skip += pg.page.Objects
	}
}

// ahead yields the pages of the listing in order with up to n requests in
// flight.
func (l *listing) ahead(ctx context.Context, n int, yield func(File, error) bool) {
	c, p := l.c, l.p
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	drain := false // the listing ended normally: let the extra requests finish
	defer func() {
		if !drain {
			cancel()
		}
		wg.Wait()
		cancel()
	}()
	stop := stopOf(ctx)
	var pending []chan pageResult // the requests in flight, in page order
	next := p.Skip
	start := func() {
		q := p
		q.Skip = next
		next += p.Limit
		ch := make(chan pageResult, 1)
		pending = append(pending, ch)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch <- c.listPage(ctx, q)
		}()
	}
	window := 1
	start()
	for {
		r := <-pending[0]
		pending = pending[1:]
		if r.err == nil {
			r.err = l.check(r)
		}
		if r.err != nil {
			cancel()
			wg.Wait()
			yield(File{}, r.err)
			return
		}
		for _, f := range r.page.Files {
			if !yield(f, nil) {
				return
			}
		}
		if r.page.Objects < p.Limit {
			drain = true
			return
		}
		// Once ctx or the stop has ended, only the next page is asked
		// for, to fail.
		window = min(n, window+1)
		for len(pending) < window && (len(pending) == 0 || ctx.Err() == nil && (stop == nil || stop.Err() == nil)) {
			start()
		}
	}
}

// pageResult is the answer to one page request.
type pageResult struct {
	page        Page
	skip        int
	url         string
	fingerprint [32]byte // of the identities of the page's objects
	err         error
}

// ListPage returns one page of GET /v1/files: the files among at most
// p.Limit objects (1000 when Limit is 0) from offset p.Skip. Objects that
// are not files (folders, file versions) and files without a fileId are
// dropped with a debug log line; Page.Objects counts them all, so that the
// next page starts at p.Skip + Objects.
//
// Errors: an *Error of kind ErrBadRequest for a Limit outside 0..1000 or a
// negative Skip (nothing sent), or for a 400 answer, with the API's message
// and request id; ErrAuth (401, 403); ErrDecode for an answer that is not a
// JSON array of objects or holds a file that does not decode; ErrRedirect;
// and, once retries are spent, ErrRateLimited, ErrServer or ErrTransport.
// ErrStopped when the stop context (ContextWithStop) ends first.
func (c *Client) ListPage(ctx context.Context, p ListParams) (Page, error) {
	r := c.listPage(ctx, p)
	return r.page, r.err
}

func (c *Client) listPage(ctx context.Context, p ListParams) pageResult {
	out := pageResult{skip: p.Skip}
	if p.Limit < 0 || p.Limit > MaxPageSize || p.Skip < 0 {
		out.err = &Error{Op: OpList, Kind: ErrBadRequest,
			Err: fmt.Errorf("limit %d and skip %d: limit must be 1..%d (0 for %d) and skip at least 0", p.Limit, p.Skip, MaxPageSize, MaxPageSize)}
		return out
	}
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("path", p.Path)
	set("searchQuery", p.SearchQuery)
	set("type", p.Type)
	set("sort", p.Sort)
	set("fileType", p.FileType)
	limit := p.Limit
	if limit == 0 {
		limit = MaxPageSize
	}
	q.Set("limit", strconv.Itoa(limit))
	if p.Skip > 0 {
		q.Set("skip", strconv.Itoa(p.Skip))
	}
	resp, err := c.do(ctx, request{op: OpList, method: http.MethodGet, path: "/v1/files", query: q})
	if err != nil {
		out.err = err
		return out
	}
	out.url = resp.url
	if resp.status != http.StatusOK {
		out.err = c.statusError(OpList, resp)
		return out
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(resp.body, &raws); err != nil {
		out.err = c.decodeError(OpList, resp, err)
		return out
	}
	if raws == nil {
		out.err = c.decodeError(OpList, resp, fmt.Errorf("expected a JSON array of files"))
		return out
	}
	files := make([]File, 0, len(raws))
	h := sha256.New()
	dropped := map[string]int{}
	for _, raw := range raws {
		f, id, drop, err := decodeObject(raw)
		if err != nil {
			out.err = c.decodeError(OpList, resp, err)
			return out
		}
		h.Write([]byte(id))
		h.Write([]byte{0})
		if drop != "" {
			dropped[drop]++
			continue
		}
		files = append(files, f)
	}
	c.logDropped(ctx, OpList, resp.requestID, dropped)
	h.Sum(out.fingerprint[:0])
	out.page = Page{Files: files, Objects: len(raws), RequestID: resp.requestID}
	return out
}

// decodeObject decodes one object of a list answer. It returns the file,
// the object's identity (fileId, folderId, or its bytes), and why it is
// dropped: "" for a file to keep, its type for an object whose type is
// given and is not "file" (a folder, a file version), "noFileId" for a file
// without a fileId. A file to keep that does not decode is an error; a
// dropped object is not decoded further.
func decodeObject(raw json.RawMessage) (f File, id, drop string, err error) {
	var head struct {
		Type     *string `json:"type"`
		FileID   string  `json:"fileId"`
		FolderID string  `json:"folderId"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return File{}, "", "", fmt.Errorf("an object of the answer: %w", err)
	}
	id = head.FileID
	if id == "" {
		id = head.FolderID
	}
	if id == "" {
		id = string(raw)
	}
	switch {
	case head.Type != nil && *head.Type != "file":
		return File{}, id, *head.Type, nil
	case head.FileID == "":
		return File{}, id, "noFileId", nil
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return File{}, "", "", fmt.Errorf("file %s: %w", head.FileID, err)
	}
	f.Type = "file"
	f.Raw = bytes.Clone(raw)
	f.normalize()
	return f, id, "", nil
}

// logDropped logs, at debug level, how many objects of an answer were
// dropped, by the reason decodeObject gave.
func (c *Client) logDropped(ctx context.Context, op, reqID string, dropped map[string]int) {
	if len(dropped) == 0 || !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("op", op)}
	for typ, n := range dropped {
		attrs = append(attrs, slog.Int(typ, n))
	}
	if reqID != "" {
		attrs = append(attrs, slog.String("requestId", reqID))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "api dropped objects that are not files", attrs...)
}

// Details returns one file.
//
// Errors: an *Error of kind ErrNotFound for a missing file (404);
// ErrBadRequest for an empty fileID (nothing sent) or a 400 answer; ErrDecode
// when the answer is not a file object (a folder, a file version, no
// fileId); ErrAuth, ErrRedirect, and once retries are spent ErrRateLimited,
// ErrServer or ErrTransport; ErrStopped when the stop context
// (ContextWithStop) ends first.
func (c *Client) Details(ctx context.Context, fileID string) (File, error) {
	if fileID == "" {
		return File{}, &Error{Op: OpDetails, Kind: ErrBadRequest, Err: fmt.Errorf("empty fileId")}
	}
	resp, err := c.do(ctx, request{op: OpDetails, method: http.MethodGet, path: "/v1/files/" + url.PathEscape(fileID) + "/details"})
	if err != nil {
		return File{}, err
	}
	if resp.status != http.StatusOK {
		return File{}, c.statusError(OpDetails, resp)
	}
	f, _, drop, err := decodeObject(resp.body)
	if err != nil {
		return File{}, c.decodeError(OpDetails, resp, err)
	}
	if drop != "" {
		c.logDropped(ctx, OpDetails, resp.requestID, map[string]int{drop: 1})
	}
	switch drop {
	case "":
		return f, nil
	case "noFileId":
		return File{}, c.decodeError(OpDetails, resp, fmt.Errorf("the file object has no fileId"))
	default:
		return File{}, c.decodeError(OpDetails, resp, fmt.Errorf("the answer is an object of type %q, not a file", drop))
	}
}

// normalize turns the API's null lists into empty ones.
func (f *File) normalize() {
	if f.Tags == nil {
		f.Tags = []string{}
	}
	if f.AITags == nil {
		f.AITags = []AITag{}
	}
}
