package imagekittest

import (
	"slices"
	"time"
)

// File is a file object as the ImageKit API serves it, decoded into the
// fields the emulator knows, and one entry of a library file (a JSON array
// of these). A library keeps each object's JSON exactly as given, so a File
// is a view of it: members it has no field for are not in the File, but stay
// in the library. The emulator keeps its own wire types and never imports
// the client's.
type File struct {
	FileID            string         `json:"fileId"`
	Type              string         `json:"type"` // "file" or "file-version"
	Name              string         `json:"name"`
	FilePath          string         `json:"filePath"`
	Tags              []string       `json:"tags"`   // null when the file has none
	AITags            []AITag        `json:"AITags"` // null when the file has none
	VersionInfo       VersionInfo    `json:"versionInfo"`
	IsPrivateFile     bool           `json:"isPrivateFile"`
	IsPublished       bool           `json:"isPublished"`
	CustomCoordinates *string        `json:"customCoordinates"`
	URL               string         `json:"url"`
	Thumbnail         string         `json:"thumbnail"`
	FileType          string         `json:"fileType"` // "image" or "non-image"
	Mime              string         `json:"mime"`
	Width             int            `json:"width"`
	Height            int            `json:"height"`
	Size              int64          `json:"size"`
	HasAlpha          bool           `json:"hasAlpha"`
	CustomMetadata    map[string]any `json:"customMetadata"`
	// EmbeddedMetadata is the metadata read from the file itself (EXIF,
	// IPTC, XMP); omitted when empty.
	EmbeddedMetadata map[string]any `json:"embeddedMetadata,omitempty"`
	// Duration is the length of a video or audio file in seconds; omitted
	// for other files.
	Duration  float64   `json:"duration,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// AITag is a tag assigned by ImageKit's auto-tagging.
type AITag struct {
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
	Source     string  `json:"source"`
}

// VersionInfo names the file's current version.
type VersionInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Folder returns the folder that holds the file: its filePath up to and
// including the last "/".
func (f *File) Folder() string {
	for i := len(f.FilePath) - 1; i >= 0; i-- {
		if f.FilePath[i] == '/' {
			return f.FilePath[:i+1]
		}
	}
	return "/"
}

// HasTag reports whether t is one of the file's tags or AITags names, which
// is what a `tags IN [...]` search matches.
func (f *File) HasTag(t string) bool {
	if slices.Contains(f.Tags, t) {
		return true
	}
	for _, a := range f.AITags {
		if a.Name == t {
			return true
		}
	}
	return false
}
