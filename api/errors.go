package api

import (
	"errors"
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
	Kind           error         // one of the Err* kinds above
	Err            error         // the underlying cause, if any
}

// PartialError is returned by RemoveTags for a 207 answer: some files were
// updated, the ones in Failed were not. The result is returned as well.
type PartialError struct {
	Op     string
	Failed []FileError
}
