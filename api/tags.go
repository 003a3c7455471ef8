package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// bulkCall is one of the bulk tag endpoints: they share their limits,
// answers and errors, and differ in path and in the name of the list they
// send.
type bulkCall struct {
	op   string
	path string
	key  string // "tags" or "AITags"
}

var (
	removeTagsCall   = bulkCall{op: OpRemoveTags, path: "/v1/files/removeTags", key: "tags"}
	addTagsCall      = bulkCall{op: OpAddTags, path: "/v1/files/addTags", key: "tags"}
	removeAITagsCall = bulkCall{op: OpRemoveAITags, path: "/v1/files/removeAITags", key: "AITags"}
)

// RemoveTags removes tags from at most MaxBulkFiles files in one call
// (POST /v1/files/removeTags). Removing a tag a file does not carry changes
// nothing, so the call is idempotent and is retried as a whole.
//
// Outcomes: 200, the result and nil. 207, the result and a *PartialError
// naming the files that failed (unchanged). Other outcomes are an *Error
// with the result's zero value: kind ErrNotFound for a 404, with
// MissingFileIDs, when nothing was changed; ErrBadRequest for a 400, with
// the API's Message and RequestID, so that the caller can split the call or
// mark its files failed; ErrBadRequest also, without a request, for empty
// fileIDs or tags or more than MaxBulkFiles files; ErrAuth (401, 403);
// ErrRedirect (3xx); ErrDecode for a complete answer that is not the
// documented JSON (not retried: the server would say the same again); and,
// once retries of connection errors, timeouts (an answer cut off mid-body
// included), 408, 409, 429 and 5xx are spent, ErrTransport, ErrRateLimited
// or ErrServer. ErrStopped when the stop context (ContextWithStop) ends
// before a request could start: Attempts says how many were sent.
func (c *Client) RemoveTags(ctx context.Context, fileIDs, tags []string) (RemoveTagsResult, error) {
	return c.bulk(ctx, removeTagsCall, fileIDs, tags)
}

// AddTags adds tags to at most MaxBulkFiles files in one call (POST
// /v1/files/addTags). Adding a tag a file already carries changes nothing,
// so the call is idempotent and is retried as a whole. Its outcomes and
// errors are those of RemoveTags.
func (c *Client) AddTags(ctx context.Context, fileIDs, tags []string) (BulkResult, error) {
	return c.bulk(ctx, addTagsCall, fileIDs, tags)
}

// RemoveAITags removes AITags, by name, from at most MaxBulkFiles files in
// one call (POST /v1/files/removeAITags). Its outcomes and errors are those
// of RemoveTags.
func (c *Client) RemoveAITags(ctx context.Context, fileIDs, aiTags []string) (BulkResult, error) {
	return c.bulk(ctx, removeAITagsCall, fileIDs, aiTags)
}

// bulkAnswer is the body of a 200 or 207 answer of a bulk call.
type bulkAnswer struct {
	Succeeded []string    `json:"successfullyUpdatedFileIds"`
	Errors    []FileError `json:"errors"`
}

// bulk sends one bulk call: its outcomes are documented on RemoveTags.
func (c *Client) bulk(ctx context.Context, call bulkCall, fileIDs, values []string) (BulkResult, error) {
	switch {
	case len(fileIDs) == 0 || len(values) == 0:
		return BulkResult{}, &Error{Op: call.op, Kind: ErrBadRequest,
			Err: fmt.Errorf("%d fileIds and %d %s: a call needs at least one of each", len(fileIDs), len(values), call.key)}
	case len(fileIDs) > MaxBulkFiles:
		return BulkResult{}, &Error{Op: call.op, Kind: ErrBadRequest,
			Err: fmt.Errorf("%d fileIds: at most %d files per call", len(fileIDs), MaxBulkFiles)}
	}
	body, err := json.Marshal(map[string][]string{"fileIds": fileIDs, call.key: values})
	if err != nil {
		return BulkResult{}, &Error{Op: call.op, Kind: ErrBadRequest, Err: err}
	}
	resp, err := c.do(ctx, request{op: call.op, method: http.MethodPost, path: call.path, body: body})
	if err != nil {
		return BulkResult{}, err
	}
	switch resp.status {
	case http.StatusOK, http.StatusMultiStatus:
	default:
		return BulkResult{}, c.statusError(call.op, resp)
	}
	var a bulkAnswer
	if err := json.Unmarshal(resp.body, &a); err != nil {
		return BulkResult{}, c.decodeError(call.op, resp, err)
	}
	for i := range a.Errors {
		a.Errors[i].Error = c.redact(a.Errors[i].Error)
	}
	res := BulkResult{StatusCode: resp.status, Succeeded: a.Succeeded, Failed: a.Errors,
		Attempts: resp.attempts, RequestID: resp.requestID}
	if res.Succeeded == nil {
		res.Succeeded = []string{}
	}
	if resp.status == http.StatusMultiStatus {
		return res, &PartialError{Op: call.op, Succeeded: len(res.Succeeded), Failed: res.Failed, RequestID: resp.requestID}
	}
	return res, nil
}
