package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error kinds, for errors.Is. Every *Error matches exactly one of them.
var (
	ErrAuth        = errors.New("authentication failed") // 401, 403
	ErrNotFound    = errors.New("file not found")        // 404
	ErrRateLimited = errors.New("rate limited")          // 429 after the retry budget
	ErrServer      = errors.New("server error")          // 5xx after the retry budget
	ErrBadRequest  = errors.New("bad request")           // 400 and other 4xx
	ErrTransport   = errors.New("api unreachable")       // connection errors, timeouts
	ErrDecode      = errors.New("malformed response")    // a body that is not the documented JSON
)

// Error is an unsuccessful API outcome. It never holds the private key or the
// Authorization header.
type Error struct {
	Op             string        // "list files", "remove tags", ...
	Method, URL    string        // request method and URL (no credentials)
	StatusCode     int           // 0 for transport errors
	Message        string        // the API's message, if any
	Help           string        // the API's help text, if any
	MissingFileIDs []string      // 404 from removeTags/addTags
	Reset          time.Duration // X-RateLimit-Reset of a 429
	Attempts       int           // requests sent, retries included
	Waited         time.Duration // time spent waiting between attempts
	Kind           error         // one of the Err* kinds above
	Err            error         // the underlying cause, if any
}

// Error says what failed, on which request, why, and what to do about it.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Method != "" || e.URL != "" {
		fmt.Fprintf(&b, " (%s %s)", e.Method, e.URL)
	}
	b.WriteString(": ")
	kind := "failed"
	if e.Kind != nil {
		kind = e.Kind.Error()
	}
	b.WriteString(kind)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
		if e.Waited > 0 {
			fmt.Fprintf(&b, " and %s of waiting", e.Waited.Round(time.Millisecond))
		}
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", strings.TrimRight(strings.TrimSpace(e.Message), ". "))
	}
	if len(e.MissingFileIDs) > 0 {
		fmt.Fprintf(&b, ": missing fileIds %s", listSome(e.MissingFileIDs, 10))
	}
	if e.Reset > 0 {
		fmt.Fprintf(&b, ": the API asked to wait %s (X-RateLimit-Reset)", e.Reset.Round(time.Millisecond))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString("; ")
		b.WriteString(hint)
	}
	return b.String()
}

// hint says what the user can do about the error.
func (e *Error) hint() string {
	if errors.Is(e.Err, context.Canceled) {
		return ""
	}
	switch e.Kind {
	case ErrAuth:
		if e.StatusCode == 403 {
			return "the private key was refused for this operation: check that IMAGEKIT_PRIVATE_KEY or --private-key-file holds a key with permission to manage files"
		}
		return "check IMAGEKIT_PRIVATE_KEY or --private-key-file: it must hold the account's private API key"
	case ErrNotFound:
		if len(e.MissingFileIDs) > 0 {
			return "nothing was changed by this call; re-plan, or send the call again without the missing files"
		}
		return "the file may have been deleted; re-plan to refresh"
	case ErrRateLimited:
		return "the account's rate limit is shared by every client using it: lower --concurrency, stop other jobs using the key, or try again later"
	case ErrServer:
		return "the API is failing; try again later (removal is idempotent, re-running is safe)"
	case ErrTransport:
		return "check the network and --api-url / IMAGEKIT_API_URL, or raise the timeout"
	case ErrDecode:
		return "the server did not answer with the ImageKit API's JSON: check that --api-url / IMAGEKIT_API_URL points at the ImageKit API"
	case ErrBadRequest:
		return "the API refused the request as sent; check the manifest's searchQuery and the tags"
	}
	return ""
}

// Unwrap returns the error's kind and its cause, so that errors.Is matches
// both (for example api.ErrRateLimited and context.Canceled).
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// PartialError is returned by RemoveTags for a 207 answer: some files were
// updated, the ones in Failed were not. The result is returned as well.
type PartialError struct {
	Op        string
	Succeeded int // files the call updated
	Failed    []FileError
}

// Error says how many files failed and, for the first few, why.
func (e *PartialError) Error() string {
	parts := make([]string, 0, min(len(e.Failed), 5))
	for i, f := range e.Failed {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Failed)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s: %s", f.FileID, f.Error))
	}
	return fmt.Sprintf("%s: partial success: %d files updated, %d failed (%s); retry the failed files, removal is idempotent",
		e.Op, e.Succeeded, len(e.Failed), strings.Join(parts, "; "))
}

// listSome joins up to n ids, saying how many more there are.
func listSome(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:n], ", "), len(ids)-n)
}
