package imagekittest

import (
	"fmt"
	"time"
)

// Query is a parsed searchQuery.
type Query struct{}

// Hints is what every file matching a Query must satisfy, for index lookups.
type Hints struct {
	IDs      []string // when ByID: every match has one of these ids
	ByID     bool
	Tags     []string // when ByTag: every match carries one of these in tags or AITags names
	ByTag    bool
	Folder   string // when ByFolder: every match is in this folder, or under it when Subtree
	Subtree  bool
	ByFolder bool
}

// QueryError is a searchQuery the emulator cannot parse or does not support.
type QueryError struct {
	Pos int    // byte offset into the query
	Msg string // names the unsupported or malformed part
}

func (e *QueryError) Error() string { return fmt.Sprintf("searchQuery at offset %d: %s", e.Pos, e.Msg) }

// ParseQuery parses an ImageKit searchQuery. now anchors relative dates.
func ParseQuery(s string, now time.Time) (*Query, error) {
	return nil, &QueryError{Msg: "not implemented yet"}
}

// Match reports whether f matches the query.
func (q *Query) Match(f *File) bool { return false }

// Hints returns what every matching file must satisfy.
func (q *Query) Hints() Hints { return Hints{} }
