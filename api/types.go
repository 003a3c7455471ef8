package api

import (
	"encoding/json"
	"time"
)

// File is an ImageKit file object as returned by the list and details
// endpoints. The fields tagprune reads are decoded; Raw holds the whole
// object exactly as the API sent it (every field, unknown ones and large
// numbers included), for callers that write files out. Raw is not updated
// when the decoded fields are changed.
type File struct {
	FileID    string          `json:"fileId"`
	Type      string          `json:"type"`
	Name      string          `json:"name"`
	FilePath  string          `json:"filePath"`
	Tags      []string        `json:"tags"`
	AITags    []AITag         `json:"AITags"`
	FileType  string          `json:"fileType,omitempty"`
	CreatedAt time.Time       `json:"createdAt"`
	UpdatedAt time.Time       `json:"updatedAt"`
	Raw       json.RawMessage `json:"-"`
}

// AITag is a tag assigned by ImageKit's auto-tagging. The API's
// `tags IN [...]` search matches AITags as well as tags.
type AITag struct {
	Name       string  `json:"name"`
	Confidence float64 `json:"confidence"`
	Source     string  `json:"source"`
}

// ListParams are the query parameters of GET /v1/files. Zero values are
// left out of the request, so the API's defaults apply.
type ListParams struct {
	Path        string // exactly this folder, no subfolders
	SearchQuery string // ImageKit searchQuery syntax
	Type        string // file, file-version, folder or all; ignored by the API when SearchQuery is set
	Sort        string // ASC_CREATED, DESC_NAME, ...
	FileType    string // all, image or non-image
	Limit       int    // page size, 1..1000; 0 means 1000
	Skip        int    // offset of the first object
}

// Page is one answer of GET /v1/files.
type Page struct {
	Files     []File // the file objects, in the API's order
	Objects   int    // objects in the answer, dropped ones included: the next page starts Objects further
	RequestID string // x-ik-requestId of the answer, if any
}

// BulkResult is the outcome of one addTags, removeTags or removeAITags call
// that the API accepted (200 or 207).
type BulkResult struct {
	StatusCode int         // 200 or 207
	Succeeded  []string    // successfullyUpdatedFileIds
	Failed     []FileError // the errors array of a 207
	Attempts   int         // HTTP requests sent for this call, retries included
	RequestID  string      // x-ik-requestId of the answer, if any
}

// RemoveTagsResult is the outcome of a removeTags call: the same type as
// BulkResult, under the name it had before the other bulk calls existed.
type RemoveTagsResult = BulkResult

// FileError is one entry of a 207 answer's errors array.
type FileError struct {
	FileID string `json:"fileId"`
	Error  string `json:"error"`
}

// Stats counts the HTTP requests a Client has sent, retries included.
type Stats struct {
	List         int64 // GET /v1/files
	Details      int64 // GET /v1/files/{id}/details
	RemoveTags   int64 // POST /v1/files/removeTags
	AddTags      int64 // POST /v1/files/addTags
	RemoveAITags int64 // POST /v1/files/removeAITags
	Retries      int64 // requests that were repeats of an earlier attempt
	RateLimited  int64 // 429 answers received
}
