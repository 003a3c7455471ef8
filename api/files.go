package api

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// DefaultListPrefetch is how many page requests List keeps in flight
// unless WithListPrefetch says otherwise.
const DefaultListPrefetch = 4

// WithListPrefetch sets how many page requests List keeps in flight (default
// DefaultListPrefetch): n pages are read ahead while the caller consumes the
// current one, so a long listing costs about one latency per n pages instead
// of one per page. 1 reads the pages one after another; n below 1 means the
// default. The pacing of the list endpoint still spaces the requests' starts.
func WithListPrefetch(n int) Option { return func(c *Client) { c.listPrefetch = n } }

// List streams the files matching p, page after page (skip/limit), in the
// API's order. Iteration stops at the first error, which is yielded once
// with a zero File.
//
// Paging ends at the first page shorter than the page size. With Type "all"
// the API also returns folders: they come as Files of Type "folder" with no
// FileID.
//
// Up to WithListPrefetch's n page requests are in flight at once, and at
// most n pages are held, the one being yielded included. A listing starts
// with one request and keeps one more in flight after each full page, up to
// n, so a one-page search costs one request and a short one wastes little. The pages are still
// yielded strictly in order. Requests already sent beyond the last page (at
// most n-1, each answered with an empty page) are let finish and their
// answers discarded, so that every request counted in Stats reached the
// API; when the caller stops iterating, ctx ends or a page fails, the
// requests in flight are cancelled instead. List returns only once none of
// its requests is left running.
func (c *Client) List(ctx context.Context, p ListParams) iter.Seq2[File, error] {
	return func(yield func(File, error) bool) {
		if p.Limit == 0 {
			p.Limit = MaxPageSize
		}
		n := c.listPrefetch
		if n < 1 {
			n = DefaultListPrefetch
		}
		if n == 1 {
			c.listSequential(ctx, p, yield)
			return
		}
		c.listAhead(ctx, p, n, yield)
	}
}

// listSequential yields the pages of p, requesting each after the last.
func (c *Client) listSequential(ctx context.Context, p ListParams, yield func(File, error) bool) {
	for {
		page, err := c.ListPage(ctx, p)
		if err != nil {
			yield(File{}, err)
			return
		}
		for _, f := range page {
			if !yield(f, nil) {
				return
			}
		}
		if len(page) < p.Limit {
			return
		}
		p.Skip += len(page)
	}
}

// pageResult is the answer to one page request of listAhead.
type pageResult struct {
	files []File
	err   error
}

// listAhead yields the pages of p in order with up to n requests in flight.
func (c *Client) listAhead(ctx context.Context, p ListParams, n int, yield func(File, error) bool) {
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
			files, err := c.ListPage(ctx, q)
			ch <- pageResult{files, err}
		}()
	}
	window := 1
	start()
	for {
		r := <-pending[0]
		pending = pending[1:]
		if r.err != nil {
			cancel()
			wg.Wait()
			yield(File{}, r.err)
			return
		}
		for _, f := range r.files {
			if !yield(f, nil) {
				return
			}
		}
		if len(r.files) < p.Limit {
			drain = true
			return
		}
		// Once ctx has ended, only the next page is asked for, to fail.
		window = min(n, window+1)
		for len(pending) < window && (len(pending) == 0 || ctx.Err() == nil) {
			start()
		}
	}
}

// ListPage returns one page of GET /v1/files: at most p.Limit files (1000
// when Limit is 0) from offset p.Skip. A Limit outside 0..1000 or a negative
// Skip is an *Error of kind ErrBadRequest, sent to nobody.
func (c *Client) ListPage(ctx context.Context, p ListParams) ([]File, error) {
	if p.Limit < 0 || p.Limit > MaxPageSize || p.Skip < 0 {
		return nil, &Error{Op: OpList, Kind: ErrBadRequest,
			Err: fmt.Errorf("limit %d and skip %d: limit must be 1..%d (0 for %d) and skip at least 0", p.Limit, p.Skip, MaxPageSize, MaxPageSize)}
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
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.statusError(OpList, resp)
	}
	var files []File
	if err := json.Unmarshal(resp.body, &files); err != nil {
		return nil, c.decodeError(OpList, resp, err)
	}
	if files == nil {
		return nil, c.decodeError(OpList, resp, fmt.Errorf("expected a JSON array of files"))
	}
	for i := range files {
		files[i].normalize()
	}
	return files, nil
}

// Details returns one file. A missing file is an *Error of kind ErrNotFound.
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
	var f File
	if err := json.Unmarshal(resp.body, &f); err != nil {
		return File{}, c.decodeError(OpDetails, resp, err)
	}
	if f.FileID == "" {
		return File{}, c.decodeError(OpDetails, resp, fmt.Errorf("the file object has no fileId"))
	}
	f.normalize()
	return f, nil
}

// removeTagsAnswer is the body of a 200 or 207 removeTags answer.
type removeTagsAnswer struct {
	Succeeded []string    `json:"successfullyUpdatedFileIds"`
	Errors    []FileError `json:"errors"`
}

// RemoveTags removes tags from at most MaxRemoveTagsFiles files in one call.
// 200: the result and nil. 207: the result and a *PartialError. 404: an *Error
// of kind ErrNotFound with MissingFileIDs, nothing changed.
//
// Empty fileIDs or tags, or more than MaxRemoveTagsFiles files, are an *Error
// of kind ErrBadRequest without a request. The call is retried as a whole on
// connection errors, timeouts, 429 and 5xx: removal is idempotent. That
// includes a 200 answer cut off mid-body, which reads as a connection error;
// a complete answer that is not the documented JSON is an *Error of kind
// ErrDecode at once, since the server would say the same again.
func (c *Client) RemoveTags(ctx context.Context, fileIDs, tags []string) (RemoveTagsResult, error) {
	switch {
	case len(fileIDs) == 0 || len(tags) == 0:
		return RemoveTagsResult{}, &Error{Op: OpRemoveTags, Kind: ErrBadRequest,
			Err: fmt.Errorf("%d fileIds and %d tags: a call needs at least one of each", len(fileIDs), len(tags))}
	case len(fileIDs) > MaxRemoveTagsFiles:
		return RemoveTagsResult{}, &Error{Op: OpRemoveTags, Kind: ErrBadRequest,
			Err: fmt.Errorf("%d fileIds: at most %d files per call; split the call", len(fileIDs), MaxRemoveTagsFiles)}
	}
	body, err := json.Marshal(struct {
		FileIDs []string `json:"fileIds"`
		Tags    []string `json:"tags"`
	}{fileIDs, tags})
	if err != nil {
		return RemoveTagsResult{}, &Error{Op: OpRemoveTags, Kind: ErrBadRequest, Err: err}
	}
	resp, err := c.do(ctx, request{op: OpRemoveTags, method: http.MethodPost, path: "/v1/files/removeTags", body: body})
	if err != nil {
		return RemoveTagsResult{}, err
	}
	switch resp.status {
	case http.StatusOK, http.StatusMultiStatus:
	default:
		return RemoveTagsResult{}, c.statusError(OpRemoveTags, resp)
	}
	var a removeTagsAnswer
	if err := json.Unmarshal(resp.body, &a); err != nil {
		return RemoveTagsResult{}, c.decodeError(OpRemoveTags, resp, err)
	}
	for i := range a.Errors {
		a.Errors[i].Error = c.redact(a.Errors[i].Error)
	}
	res := RemoveTagsResult{StatusCode: resp.status, Succeeded: a.Succeeded, Failed: a.Errors, Attempts: resp.attempts}
	if res.Succeeded == nil {
		res.Succeeded = []string{}
	}
	if resp.status == http.StatusMultiStatus {
		return res, &PartialError{Op: OpRemoveTags, Succeeded: len(res.Succeeded), Failed: res.Failed}
	}
	return res, nil
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
