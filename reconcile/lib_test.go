package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
)

// testLib is a Library over the real client and the in-process emulator. It
// records the searchQueries listed and the removeTags calls sent, can answer
// a removeTags call itself (hook), and can edit the library the way its
// users do between a plan and its apply.
type testLib struct {
	t       *testing.T
	handler atomic.Pointer[imagekittest.Handler]
	client  *api.Client

	mu sync.Mutex
	// queries records every searchQuery listed.
	queries []string
	// calls records every bulk call that reached the library: removeTags
	// calls without an Endpoint, the others with theirs.
	calls []Batch
	// hook, if set, may answer a removeTags call instead of the library;
	// n counts calls from 0.
	hook func(ctx context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool)
	// editHook, if set, may answer an addTags or removeAITags call instead
	// of the library; n counts calls of every endpoint from 0.
	editHook func(ctx context.Context, n int, endpoint string, ids, tags []string) (api.BulkResult, error, bool)
}

// newTestLib serves files with the emulator (options opts) in process.
func newTestLib(t *testing.T, files []imagekittest.File, opts ...imagekittest.Option) *testLib {
	t.Helper()
	l := &testLib{t: t}
	l.handler.Store(imagekittest.NewHandler(files, opts...))
	client, err := api.New(
		api.WithBaseURL("http://127.0.0.1"),
		api.WithHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { l.handler.Load().ServeHTTP(w, r) })),
		api.WithRate(0, 0),
		api.WithRetry(api.RetryPolicy{BaseDelay: 1, MaxDelay: 2}),
	)
	require.NoError(t, err)
	l.client = client
	return l
}

func (l *testLib) List(ctx context.Context, p api.ListParams) iter.Seq2[api.File, error] {
	l.mu.Lock()
	l.queries = append(l.queries, p.SearchQuery)
	l.mu.Unlock()
	return l.client.List(ctx, p)
}

func (l *testLib) RemoveTags(ctx context.Context, ids, tags []string) (api.RemoveTagsResult, error) {
	l.mu.Lock()
	n := len(l.calls)
	l.calls = append(l.calls, Batch{FileIDs: slices.Clone(ids), Tags: slices.Clone(tags)})
	hook := l.hook
	l.mu.Unlock()
	if hook != nil {
		if res, err, ok := hook(ctx, n, ids, tags); ok {
			if err == nil || res.StatusCode == 207 {
				l.post("/v1/files/removeTags", res.Succeeded, tags)
			}
			return res, err
		}
	}
	return l.client.RemoveTags(ctx, ids, tags)
}

// AddTags records the call (Endpoint addTags) and sends it; editHook, if
// set, may answer it instead.
func (l *testLib) AddTags(ctx context.Context, ids, tags []string) (api.BulkResult, error) {
	if res, err, ok := l.edit2(ctx, EndpointAddTags, ids, tags); ok {
		return res, err
	}
	return l.client.AddTags(ctx, ids, tags)
}

// RemoveAITags records the call (Endpoint removeAITags) and sends it;
// editHook, if set, may answer it instead.
func (l *testLib) RemoveAITags(ctx context.Context, ids, names []string) (api.BulkResult, error) {
	if res, err, ok := l.edit2(ctx, EndpointRemoveAITags, ids, names); ok {
		return res, err
	}
	return l.client.RemoveAITags(ctx, ids, names)
}

// edit2 records an addTags or removeAITags call and lets editHook answer it.
func (l *testLib) edit2(ctx context.Context, endpoint string, ids, tags []string) (api.BulkResult, error, bool) {
	l.mu.Lock()
	n := len(l.calls)
	l.calls = append(l.calls, Batch{Endpoint: endpoint, FileIDs: slices.Clone(ids), Tags: slices.Clone(tags)})
	hook := l.editHook
	l.mu.Unlock()
	if hook != nil {
		return hook(ctx, n, endpoint, ids, tags)
	}
	return api.BulkResult{}, nil, false
}

func (l *testLib) Stats() api.Stats { return l.client.Stats() }

// resetLog forgets the queries and calls recorded so far.
func (l *testLib) resetLog() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries, l.calls = nil, nil
}

// sent returns the bulk calls that reached the library.
func (l *testLib) sent() []Batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// files returns the library's files by id.
func (l *testLib) files() map[string]imagekittest.File {
	out := map[string]imagekittest.File{}
	for _, f := range l.handler.Load().Files() {
		out[f.FileID] = f
	}
	return out
}

// tags returns the tags of one file.
func (l *testLib) tags(id string) []string {
	f, ok := l.files()[id]
	require.True(l.t, ok, "file %s is not in the library", id)
	return f.Tags
}

// post sends a tags request to the emulator as another client would.
func (l *testLib) post(endpoint string, ids, tags []string) {
	if len(ids) == 0 {
		return
	}
	body, err := json.Marshal(map[string][]string{"fileIds": ids, "tags": tags})
	require.NoError(l.t, err)
	rec := httptest.NewRecorder()
	l.handler.Load().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body)))
	require.Equal(l.t, http.StatusOK, rec.Code, "%s: %s", endpoint, rec.Body)
}

// addTags adds tags to files through the emulator's addTags endpoint, as a
// user editing the library would; the emulator updates their updatedAt.
func (l *testLib) addTags(tags []string, ids ...string) { l.post("/v1/files/addTags", ids, tags) }

// removeTagsAside removes tags from files as another client would.
func (l *testLib) removeTagsAside(tags []string, ids ...string) {
	l.post("/v1/files/removeTags", ids, tags)
}

// removeAITagsAside removes AITags from files as another client would.
func (l *testLib) removeAITagsAside(names []string, ids ...string) {
	body, err := json.Marshal(map[string][]string{"fileIds": ids, "AITags": names})
	require.NoError(l.t, err)
	rec := httptest.NewRecorder()
	l.handler.Load().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/files/removeAITags", bytes.NewReader(body)))
	require.Equal(l.t, http.StatusOK, rec.Code, "removeAITags: %s", rec.Body)
}

// edit replaces the library by what change makes of its files, as edits the
// API has no endpoint for here would (moving, renaming, deleting, uploading).
func (l *testLib) edit(change func(files []imagekittest.File) []imagekittest.File) {
	l.handler.Store(imagekittest.NewHandler(change(l.handler.Load().Files())))
}

// move moves a file to another folder, keeping its name.
func (l *testLib) move(id, folder string) {
	l.edit(func(files []imagekittest.File) []imagekittest.File {
		for i := range files {
			if files[i].FileID == id {
				files[i].FilePath = folder + path.Base(files[i].FilePath)
			}
		}
		return files
	})
}

// remove deletes files from the library.
func (l *testLib) remove(ids ...string) {
	l.edit(func(files []imagekittest.File) []imagekittest.File {
		return slices.DeleteFunc(files, func(f imagekittest.File) bool { return slices.Contains(ids, f.FileID) })
	})
}

// upload adds files to the library.
func (l *testLib) upload(files ...imagekittest.File) {
	l.edit(func(old []imagekittest.File) []imagekittest.File { return append(old, files...) })
}
