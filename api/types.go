package api

import "time"

// File is an ImageKit file object as returned by the list and details
// endpoints. Only the fields tagprune reads are decoded; Raw keeps nothing else.
type File struct {
	FileID    string    `json:"fileId"`
	Type      string    `json:"type"`
	Name      string    `json:"name"`
	FilePath  string    `json:"filePath"`
	Tags      []string  `json:"tags"`
	AITags    []AITag   `json:"AITags"`
	FileType  string    `json:"fileType,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// AITag is a tag assigned by ImageKit's auto-tagging. tagprune never removes
// AITags, but the API's `tags IN [...]` search matches them.
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
	Type        string // file, file-version, folder or all
	Sort        string // ASC_CREATED, DESC_NAME, ...
	FileType    string // all, image or non-image
	Limit       int    // page size, 1..1000; 0 means 1000
	Skip        int    // offset of the first file
}

// RemoveTagsResult is the outcome of one removeTags call that the API
// accepted (200 or 207).
type RemoveTagsResult struct {
	StatusCode int         // 200 or 207
	Succeeded  []string    // successfullyUpdatedFileIds
	Failed     []FileError // the errors array of a 207
	Attempts   int         // HTTP requests sent for this call, retries included
}

// FileError is one entry of a 207 answer's errors array.
type FileError struct {
	FileID string `json:"fileId"`
	Error  string `json:"error"`
}

// Stats counts the HTTP requests a Client has sent, retries included.
type Stats struct {
	List        int64 // GET /v1/files
	Details     int64 // GET /v1/files/{id}/details
	RemoveTags  int64 // POST /v1/files/removeTags
	Retries     int64 // requests that were repeats of an earlier attempt
	RateLimited int64 // 429 answers received
}
