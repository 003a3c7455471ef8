// Package manifest loads and validates tagprune manifests into Rules.
// It does no network I/O and reads nothing but the files it is given.
package manifest

// Position is where something was written in a manifest.
type Position struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String formats the position as file:line:col (or file when unknown).
func (p Position) String() string { panic("todo") }

// Selection says which files a rule governs, before exclusions.
type Selection struct {
	Paths       []string // folder paths, normalised to end with "/"
	FileIDs     []string
	SearchQuery string // ImageKit syntax, ANDed with the rest; "" for none
}

// Rule is one validated manifest rule.
type Rule struct {
	Name        string
	Description string
	Files       Selection
	Exclude     Selection // only Paths and FileIDs are used
	ExactTags   []string  // forbidden tags written without glob characters
	Globs       []string  // forbidden tags with *, ? or [ (path.Match syntax)
	Source      Position  // where the rule starts
}

// InScope reports whether a file with this id and path is selected by the
// rule's paths or fileIds and not excluded. The searchQuery is not checked
// here: it is evaluated by the API.
func (r *Rule) InScope(fileID, filePath string) bool { panic("todo") }

// Forbids reports whether tag is forbidden by the rule, exactly or by a glob.
func (r *Rule) Forbids(tag string) bool { panic("todo") }

// ForbiddenTags returns the rule's forbiddenTags as written (exact tags and globs).
func (r *Rule) ForbiddenTags() []string { panic("todo") }

// Load reads manifests from files and directories (every *.yaml and *.yml in
// a directory, sorted, not recursive) and returns their rules in order. On
// failure it returns an *Errors listing every problem found, each with its
// file and, where known, line and column.
func Load(paths ...string) ([]Rule, error) { panic("todo") }
