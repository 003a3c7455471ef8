package api

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error kinds, for errors.Is. Every *Error matches exactly one of them.
var (
	ErrAuth           = errors.New("authentication failed")             // 401, 403
	ErrNotFound       = errors.New("file not found")                    // 404
	ErrRateLimited    = errors.New("rate limited")                      // 429 after the retry budget, or a reset longer than the wait cap
	ErrServer         = errors.New("server error")                      // 5xx, 408 and 409 after the retry budget
	ErrBadRequest     = errors.New("bad request")                       // 400 and other 4xx; also calls refused before sending
	ErrTransport      = errors.New("api unreachable")                   // connection errors, timeouts
	ErrDecode         = errors.New("malformed response")                // a body that is not the documented JSON
	ErrRedirect       = errors.New("redirect refused")                  // any 3xx: no redirect is followed
	ErrEndlessListing = errors.New("listing does not end")              // a server that ignores skip, or a listing past the bound
	ErrStopped        = errors.New("stopped: no new request may start") // the stop context ended (ContextWithStop)
)

// Causes an *Error may wrap, for errors.Is.
var (
	// ErrNotListening is the cause of an ErrTransport error when nothing
	// listens at the API's address (connection refused).
	ErrNotListening = errors.New("nothing is listening at the API's address")
	// ErrWaitTooLong is the cause of an ErrRateLimited error when the rate
	// limit asks for a wait longer than RetryPolicy.RateLimitWait.
	ErrWaitTooLong = errors.New("longer than the cap on rate-limit waits")
)

// Error is an unsuccessful API outcome. It never holds the private key or the
// Authorization header. Its text states each fact once and names no flag or
// command of any program: callers add their own advice from Kind and the
// fields.
type Error struct {
	Op             string        // "list files", "remove tags", ...
	Method, URL    string        // request method and URL (no credentials)
	StatusCode     int           // 0 for transport errors and calls never sent
	Message        string        // the API's message, if any
	Help           string        // the API's help text, if any
	MissingFileIDs []string      // 404 from removeTags/addTags/removeAITags
	Location       string        // the Location of a 3xx answer
	RequestID      string        // x-ik-requestId of the answer, if any
	Reset          time.Duration // X-RateLimit-Reset of a 429
	Attempts       int           // requests sent, retries included
	Waited         time.Duration // time spent waiting between attempts
	Kind           error         // one of the Err* kinds above
	Err            error         // the underlying cause, if any
}

// Error says what failed, on which request, and why.
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
	if e.Location != "" {
		fmt.Fprintf(&b, ": redirected to %q", e.Location)
	}
	if e.Reset > 0 {
		fmt.Fprintf(&b, ": the API asked to wait %s (X-RateLimit-Reset)", e.Reset.Round(time.Millisecond))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
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

// PartialError is returned by the bulk tag calls for a 207 answer: some
// files were updated, the ones in Failed were not. The result is returned as
// well.
type PartialError struct {
	Op        string
	Succeeded int // files the call updated
	Failed    []FileError
	RequestID string // x-ik-requestId of the answer, if any
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
	s := fmt.Sprintf("%s: partial success: %d files updated, %d failed (%s)",
		e.Op, e.Succeeded, len(e.Failed), strings.Join(parts, "; "))
	if e.RequestID != "" {
		s += fmt.Sprintf(" (request id %s)", e.RequestID)
	}
	return s
}

// listSome joins up to n ids, saying how many more there are.
func listSome(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:n], ", "), len(ids)-n)
}
