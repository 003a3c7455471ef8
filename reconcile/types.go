// Package reconcile turns rules and a library into a plan, applies plans and
// reports what happened: observe -> diff -> batch -> apply -> report.
package reconcile

import (
	"context"
	"iter"
	"time"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/manifest"
)

// FormatVersion is the formatVersion of plan and report files.
const FormatVersion = 1

// Library is what reconcile needs of an ImageKit library. *api.Client
// satisfies it.
type Library interface {
	List(ctx context.Context, p api.ListParams) iter.Seq2[api.File, error]
	RemoveTags(ctx context.Context, fileIDs, tags []string) (api.RemoveTagsResult, error)
}

// TagEditor is what a plan that adds tags or removes AITags needs of a
// library beyond Library: replaceTags adds the new tag through addTags,
// forbiddenAITags removes AITags through removeAITags, and restore adds
// removed tags back. *api.Client satisfies it. Both calls answer like
// RemoveTags (200, 207 with a *api.PartialError, 404, 400).
type TagEditor interface {
	AddTags(ctx context.Context, fileIDs, tags []string) (api.BulkResult, error)
	RemoveAITags(ctx context.Context, fileIDs, aiTags []string) (api.BulkResult, error)
}

// StatsSource is implemented by libraries that count their requests
// (*api.Client does); reports take their apiCalls from it.
type StatsSource interface {
	Stats() api.Stats
}

// Plan is the dry-run result: what apply would change. It is also the saved
// plan file (plan --out) and the JSON plan document (plan --format json).
//
// A saved plan is never trusted: ApplySavedPlan checks its rules against
// RulesDigest, recomputes every change and batch from those rules and the
// state the plan recorded, then again from the library's state when it is
// applied.
type Plan struct {
	FormatVersion int             `json:"formatVersion"`
	Tool          string          `json:"tool"`
	CreatedAt     time.Time       `json:"createdAt"`
	Source        *Source         `json:"source,omitempty"` // the library the plan was made from
	RulesDigest   string          `json:"rulesDigest"`
	Rules         []manifest.Rule `json:"rules"`
	Changes       []Change        `json:"changes"`
	Batches       []Batch         `json:"batches"`
	Summary       Summary         `json:"summary"`
	// RuleFilter is the rule names and globs the plan was limited to, as
	// given (plan --rule); empty when every rule was evaluated. Rules then
	// holds only the rules it selects, and RulesLeftOut names the others.
	RuleFilter   []string `json:"ruleFilter,omitempty"`
	RulesLeftOut []string `json:"rulesLeftOut,omitempty"`
	// Allowlists says, for each rule of Rules with allowedTags, what it
	// would remove: an allowlist removes every tag it does not name, so a
	// typo in it shows here first.
	Allowlists []AllowlistSummary `json:"allowlists,omitempty"`
}

// AllowlistSummary is what one allowlist rule of a plan would remove.
type AllowlistSummary struct {
	Rule         string `json:"rule"`
	Files        int    `json:"files"`        // files it removes tags from
	Tags         int    `json:"tags"`         // tags it removes, over those files
	DistinctTags int    `json:"distinctTags"` // different tags among them
	// MostFrequent are the tags it removes from the most files, at most
	// five, by number of files then by tag.
	MostFrequent []TagCount `json:"mostFrequent"`
}

// TagCount is a tag and the number of files it is removed from.
type TagCount struct {
	Tag   string `json:"tag"`
	Files int    `json:"files"`
}

// Source names the library a plan was made from: an API URL or a library
// snapshot file. Exactly one of the fields is set.
type Source struct {
	APIURL  string `json:"apiUrl,omitempty"`
	Library string `json:"library,omitempty"`
}

// Change is one file the plan changes.
type Change struct {
	FileID     string   `json:"fileId"`
	FilePath   string   `json:"filePath"`
	TagsBefore []string `json:"tagsBefore"`
	RemoveTags []string `json:"removeTags"` // sorted
	// Rules names the rules that forbid what is removed (tags and AITags),
	// sorted.
	Rules []string `json:"rules"`
	// AITagsBefore holds the names of the file's AITags as read, when some
	// rule of the plan has forbiddenAITags (the state RemoveAITags is
	// checked against); it is left out otherwise.
	AITagsBefore []string `json:"aiTagsBefore,omitempty"`
	// RemoveAITags holds the names of the AITags to remove, sorted.
	RemoveAITags []string `json:"removeAITags,omitempty"`
	// AddTags holds the tags to add, sorted: the new tag of every rename
	// whose new tag the file does not carry yet. They are added before any
	// tag is removed.
	AddTags []string `json:"addTags,omitempty"`
	// Renames holds the replaceTags entries carried out on the file, sorted
	// by Old then Rule: each Old is in RemoveTags, and each New is in
	// AddTags unless the file carries it already.
	Renames []Rename `json:"renames,omitempty"`
}

// Rename is one replaceTags entry (OLD: NEW) of a rule, carried out on a
// file: New is added, then Old removed.
type Rename struct {
	Old  string `json:"old"`
	New  string `json:"new"`
	Rule string `json:"rule"`
}

// Endpoints of a batch, in the order Apply sends them: every addTags call
// is answered before the first removal starts, so that a rename never
// loses its tag.
const (
	EndpointAddTags      = "addTags"
	EndpointRemoveTags   = "removeTags"
	EndpointRemoveAITags = "removeAITags"
)

// Batch is one bulk call of at most 50 files: a removeTags call (every tag
// in Tags is forbidden for every file in FileIDs), a removeAITags call
// (Tags holds AITag names, each forbidden for every file), or an addTags
// call (every tag in Tags is the new tag of a rename of every file). An
// empty Endpoint (a plan made before batches named theirs) means
// EndpointRemoveTags.
type Batch struct {
	Endpoint string   `json:"endpoint,omitempty"`
	FileIDs  []string `json:"fileIds"`
	Tags     []string `json:"tags"`
}

// Summary holds the counts of a plan or a report.
type Summary struct {
	FilesScanned    int `json:"filesScanned"`
	FilesToChange   int `json:"filesToChange"`
	FilesChanged    int `json:"filesChanged"`
	FilesFailed     int `json:"filesFailed"`
	FilesMissing    int `json:"filesMissing"`
	FilesPending    int `json:"filesPending"`
	TagsToRemove    int `json:"tagsToRemove"`
	TagsRemoved     int `json:"tagsRemoved"`
	RemoveTagsCalls int `json:"removeTagsCalls"` // planned calls
	// TagsToAdd and TagsAdded count tags added by renames (and by restore);
	// AITagsToRemove and AITagsRemoved count AITags. The calls are planned
	// calls, as RemoveTagsCalls.
	TagsToAdd         int      `json:"tagsToAdd"`
	TagsAdded         int      `json:"tagsAdded"`
	AITagsToRemove    int      `json:"aiTagsToRemove"`
	AITagsRemoved     int      `json:"aiTagsRemoved"`
	AddTagsCalls      int      `json:"addTagsCalls"`
	RemoveAITagsCalls int      `json:"removeAITagsCalls"`
	APICalls          APICalls `json:"apiCalls"`
	Retries           int      `json:"retries"`
	RateLimited       int      `json:"rateLimited"`
}

// APICalls counts HTTP requests sent, retries included.
type APICalls struct {
	List         int `json:"list"`
	Details      int `json:"details"`
	RemoveTags   int `json:"removeTags"`
	AddTags      int `json:"addTags"`
	RemoveAITags int `json:"removeAITags"`
}

// File statuses in a report.
const (
	StatusChanged = "changed"
	StatusFailed  = "failed"
	StatusMissing = "missing"
	StatusPending = "pending"
)

// Report says what a run did, file by file and call by call.
type Report struct {
	FormatVersion int             `json:"formatVersion"`
	Command       string          `json:"command"` // plan, apply or restore
	Tool          string          `json:"tool"`
	StartedAt     time.Time       `json:"startedAt"`
	FinishedAt    time.Time       `json:"finishedAt"`
	Interrupted   bool            `json:"interrupted,omitempty"`
	Error         string          `json:"error,omitempty"` // why the run stopped early, if it did
	Rules         []manifest.Rule `json:"rules"`
	Summary       Summary         `json:"summary"`
	Files         []FileResult    `json:"files"`
	Batches       []BatchResult   `json:"batches"`
	// RuleFilter and RulesLeftOut are those of the plan the run carried out.
	RuleFilter   []string `json:"ruleFilter,omitempty"`
	RulesLeftOut []string `json:"rulesLeftOut,omitempty"`
	// NotRestorable lists, in a restore report, the AITags the apply
	// removed: ImageKit has no call that adds AITags, so restore cannot
	// put them back.
	NotRestorable []AITagsLost `json:"notRestorable,omitempty"`
}

// AITagsLost is a file whose AITags an apply removed for good.
type AITagsLost struct {
	FileID   string   `json:"fileId"`
	FilePath string   `json:"filePath"`
	AITags   []string `json:"aiTags"`
}

// FileResult is the end state of one planned file.
//
// Status is StatusChanged only when every call planned for the file was
// confirmed by the API. Whatever the status, AddedTags, RemovedTags and
// RemovedAITags say what the API confirmed for the file in this run: a
// rename interrupted between its two steps is StatusPending with the new
// tag in AddedTags and nothing in RemovedTags. Restore undoes exactly
// these.
type FileResult struct {
	FileID     string   `json:"fileId"`
	FilePath   string   `json:"filePath"`
	RemoveTags []string `json:"removeTags"`
	Rules      []string `json:"rules"`
	Status     string   `json:"status"`
	Error      string   `json:"error,omitempty"`
	// What was planned beyond RemoveTags.
	AddTags      []string `json:"addTags,omitempty"`
	RemoveAITags []string `json:"removeAITags,omitempty"`
	Renames      []Rename `json:"renames,omitempty"`
	// What the API confirmed.
	AddedTags     []string `json:"addedTags,omitempty"`
	RemovedTags   []string `json:"removedTags,omitempty"`
	RemovedAITags []string `json:"removedAITags,omitempty"`
}

// removed returns the tags the run removed from the file: RemovedTags, or,
// for a changed file of a report written before RemovedTags existed,
// RemoveTags.
func (f *FileResult) removed() []string {
	if len(f.RemovedTags) == 0 && f.Status == StatusChanged {
		return f.RemoveTags
	}
	return f.RemovedTags
}

// removedAI is removed for AITags.
func (f *FileResult) removedAI() []string {
	if len(f.RemovedAITags) == 0 && f.Status == StatusChanged {
		return f.RemoveAITags
	}
	return f.RemovedAITags
}

// BatchResult is one bulk call as sent, retries of failed files included as
// separate entries.
type BatchResult struct {
	Endpoint   string   `json:"endpoint,omitempty"`
	FileIDs    []string `json:"fileIds"`
	Tags       []string `json:"tags"`
	HTTPStatus int      `json:"httpStatus"` // last status seen; 0 if never answered
	Attempts   int      `json:"attempts"`
	Outcome    string   `json:"outcome"` // ok, partial, missing, split, failed, skipped
	Error      string   `json:"error,omitempty"`
}

// PlanOptions tune planning.
type PlanOptions struct {
	Tool string // version string recorded in the plan
	// BatchSize is the most files per call (removeTags, addTags and
	// removeAITags alike), 1..50; 0 means 50.
	BatchSize int
	// Source, if set, is recorded in the plan: ApplySavedPlan refuses to
	// apply the plan to another source.
	Source *Source
	// RuleFilter, if set, limits the plan to the rules whose names match
	// one of its entries (exact names or globs, see manifest.SelectRules).
	RuleFilter []string
	// Progress, if set, is called as files are read (files scanned so far).
	Progress func(scanned int)
}

// ApplyOptions tune applying.
type ApplyOptions struct {
	Tool        string
	Concurrency int // calls in flight; 0 means DefaultConcurrency
	// MaxFileRetries bounds how often the failed files of a 207 are sent
	// again; 0 means DefaultFileRetries.
	MaxFileRetries int
	// Grace bounds how long calls in flight may run on once ctx is
	// cancelled; 0 means DefaultGrace.
	Grace time.Duration
	// Source is the library the plan is applied to. ApplySavedPlan refuses
	// a plan that recorded another source (a plan that recorded none only
	// applies where Source is nil too).
	Source *Source
	// Progress, if set, is called after each call with files done so far.
	Progress func(done, total int)
}
