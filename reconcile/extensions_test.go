package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

// noAI builds a rule over paths that forbids the AITags ai.
func noAI(name string, paths []string, ai ...string) manifest.Rule {
	return manifest.Rule{Name: name, Paths: paths, ForbiddenAITags: ai, Source: "m.yaml:12:5"}
}

// renameRule builds a rule over paths that renames OLD to NEW for each
// pair of renames ("Red", "red", ...).
func renameRule(name string, paths []string, renames ...string) manifest.Rule {
	r := manifest.Rule{Name: name, Paths: paths, ReplaceTags: map[string]string{}, Source: "m.yaml:15:5"}
	for i := 0; i+1 < len(renames); i += 2 {
		r.ReplaceTags[renames[i]] = renames[i+1]
	}
	return r
}

// aiOf returns the AITag names of a file of the library.
func aiOf(l *testLib, id string) []string {
	var out []string
	for _, a := range l.files()[id].AITags {
		out = append(out, a.Name)
	}
	return out
}

// byEndpoint returns the calls sent to one endpoint ("" for removeTags).
func byEndpoint(calls []Batch, endpoint string) []Batch {
	var out []Batch
	for _, b := range calls {
		if b.Endpoint == endpoint {
			out = append(out, b)
		}
	}
	return out
}

func TestPlanRemovesForbiddenAITags(t *testing.T) {
	files := []imagekittest.File{
		withAI(file("f1", "/a/1.jpg", "Person"), "Person", "Text"),
		withAI(file("f2", "/a/2.jpg"), "Textile"),
		withAI(file("f3", "/b/3.jpg", "keep"), "Person"),
		file("f4", "/a/4.jpg", "Person"),
	}
	tests := []struct {
		name       string
		rules      []manifest.Rule
		wantQuery  string
		wantAI     map[string][]string
		wantTags   map[string][]string
		wantCalls  []Batch
		wantAIOnly []string // changes that remove no tag
	}{
		{
			name:      "an exact AITag is asked for by name and leaves the same-named tag",
			rules:     []manifest.Rule{noAI("no-people", []string{"/a/"}, "Person")},
			wantQuery: `path : "/a/" AND tags IN ["Person"] AND type = "file"`,
			wantAI:    map[string][]string{"f1": {"Person"}},
			wantTags:  map[string][]string{},
			wantCalls: []Batch{{Endpoint: EndpointRemoveAITags, FileIDs: []string{"f1"}, Tags: []string{"Person"}}},
		},
		{
			name:      "a glob asks for tags EXISTS",
			rules:     []manifest.Rule{noAI("no-text", []string{"/a/"}, "Text*")},
			wantQuery: `path : "/a/" AND tags EXISTS AND type = "file"`,
			wantAI:    map[string][]string{"f1": {"Text"}, "f2": {"Textile"}},
			wantTags:  map[string][]string{},
			wantCalls: []Batch{
				{Endpoint: EndpointRemoveAITags, FileIDs: []string{"f1"}, Tags: []string{"Text"}},
				{Endpoint: EndpointRemoveAITags, FileIDs: []string{"f2"}, Tags: []string{"Textile"}},
			},
		},
		{
			name:      "a forbidden tag goes and the same-named AITag stays",
			rules:     []manifest.Rule{rule("no-person-tag", []string{"/"}, nil, "Person")},
			wantQuery: `path : "/" AND tags IN ["Person"] AND type = "file"`,
			wantAI:    map[string][]string{},
			wantTags:  map[string][]string{"f1": {"Person"}, "f4": {"Person"}},
			wantCalls: []Batch{{Endpoint: EndpointRemoveTags, FileIDs: []string{"f1", "f4"}, Tags: []string{"Person"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, files)
			p, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{})
			require.NoError(t, err)
			assert.Equal(t, []string{tt.wantQuery}, lib.queries)
			gotAI, gotTags := map[string][]string{}, map[string][]string{}
			for _, c := range p.Changes {
				if len(c.RemoveAITags) > 0 {
					gotAI[c.FileID] = c.RemoveAITags
					assert.Subset(t, c.AITagsBefore, c.RemoveAITags, "the plan records the AITags it judged")
				}
				if len(c.RemoveTags) > 0 {
					gotTags[c.FileID] = c.RemoveTags
				}
			}
			assert.Equal(t, tt.wantAI, gotAI)
			assert.Equal(t, tt.wantTags, gotTags)
			assert.Equal(t, tt.wantCalls, p.Batches)
			require.NoError(t, CheckConsistency(savePlan(t, p)))

			before := lib.files()
			r, err := Apply(context.Background(), lib, p, ApplyOptions{})
			require.NoError(t, err)
			for _, f := range r.Files {
				assert.Equal(t, StatusChanged, f.Status, f.FileID)
			}
			after := lib.files()
			for id, f := range before {
				wantTags := slices.DeleteFunc(slices.Clone(f.Tags), func(t string) bool { return slices.Contains(tt.wantTags[id], t) })
				assert.Equal(t, len(wantTags), len(after[id].Tags), "tags of %s", id)
				var wantAI []string
				for _, a := range f.AITags {
					if !slices.Contains(tt.wantAI[id], a.Name) {
						wantAI = append(wantAI, a.Name)
					}
				}
				assert.Equal(t, wantAI, aiOf(lib, id), "AITags of %s", id)
			}
			assert.Equal(t, len(tt.wantAI) > 0, r.Summary.AITagsRemoved > 0)
			assert.Equal(t, r.Summary.APICalls.RemoveAITags, len(byEndpoint(lib.sent(), EndpointRemoveAITags)))
		})
	}
}

// The library of the rename tests: f1..f3 carry Red, f2 has red already,
// f4 carries only red, f5 is in /shop/.
func renameLibrary() []imagekittest.File {
	return []imagekittest.File{
		file("f1", "/a/1.jpg", "Red", "sale"),
		file("f2", "/a/2.jpg", "red", "Red"),
		file("f3", "/a/3.jpg", "Red", "Blue"),
		file("f4", "/a/4.jpg", "red"),
		file("f5", "/shop/5.jpg", "Red", "size-xl"),
	}
}

func TestPlanRenames(t *testing.T) {
	lib := newTestLib(t, renameLibrary())
	rules := []manifest.Rule{renameRule("colors", []string{"/a/"}, "Red", "red", "Blue", "blue"), rule("no-sale", []string{"/"}, nil, "sale")}
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)

	byID := map[string]Change{}
	for _, c := range p.Changes {
		byID[c.FileID] = c
	}
	require.Len(t, byID, 3)
	assert.Equal(t, []string{"Red", "sale"}, byID["f1"].RemoveTags)
	assert.Equal(t, []string{"red"}, byID["f1"].AddTags)
	assert.Equal(t, []string{"colors", "no-sale"}, byID["f1"].Rules)
	assert.Equal(t, []Rename{{Old: "Red", New: "red", Rule: "colors"}}, byID["f1"].Renames)
	assert.Empty(t, byID["f2"].AddTags, "a file that has the new tag already only loses the old one")
	assert.Equal(t, []string{"Red"}, byID["f2"].RemoveTags)
	assert.Equal(t, []string{"blue", "red"}, byID["f3"].AddTags)
	assert.Equal(t, []Rename{{Old: "Blue", New: "blue", Rule: "colors"}, {Old: "Red", New: "red", Rule: "colors"}}, byID["f3"].Renames)

	require.NotEmpty(t, p.Batches)
	assert.Equal(t, EndpointAddTags, p.Batches[0].Endpoint, "the additions come first")
	adds := byEndpoint(p.Batches, EndpointAddTags)
	assert.Equal(t, []Batch{
		{Endpoint: EndpointAddTags, FileIDs: []string{"f3"}, Tags: []string{"blue", "red"}},
		{Endpoint: EndpointAddTags, FileIDs: []string{"f1"}, Tags: []string{"red"}},
	}, adds, "files are grouped by identical sets of tags to add")
	assert.Equal(t, 3, p.Summary.TagsToAdd)
	assert.Equal(t, 2, p.Summary.AddTagsCalls)
	require.NoError(t, CheckConsistency(savePlan(t, p)))

	r, err := Apply(context.Background(), lib, p, ApplyOptions{Concurrency: 1})
	require.NoError(t, err)
	calls := lib.sent()
	lastAdd, firstRemove := -1, len(calls)
	for i, b := range calls {
		if b.Endpoint == EndpointAddTags {
			lastAdd = i
		} else if i < firstRemove {
			firstRemove = i
		}
	}
	assert.Less(t, lastAdd, firstRemove, "every addTags call is sent before any removal")
	assert.ElementsMatch(t, []string{"red"}, lib.tags("f1"))
	assert.ElementsMatch(t, []string{"red"}, lib.tags("f2"))
	assert.ElementsMatch(t, []string{"red", "blue"}, lib.tags("f3"))
	assert.ElementsMatch(t, []string{"Red", "size-xl"}, lib.tags("f5"), "files outside the rule keep their tags")
	for _, f := range r.Files {
		assert.Equal(t, StatusChanged, f.Status)
		assert.Equal(t, byID[f.FileID].AddTags, f.AddedTags, "the report records the tags added to %s", f.FileID)
		assert.Equal(t, byID[f.FileID].RemoveTags, f.RemovedTags)
	}
	assert.Equal(t, 3, r.Summary.TagsAdded)
	assert.Equal(t, 2, r.Summary.APICalls.AddTags)

	again, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	assert.Empty(t, again.Changes, "a rename converges")
}

func TestPlanRefusesRenameConflicts(t *testing.T) {
	byQuery := rule("no-lowercase-red-in-old-files", []string{"/a/"}, nil, "red")
	byQuery.SearchQuery = `name = "1.jpg"`
	tests := []struct {
		name  string
		rules []manifest.Rule
		want  []string // in the error
		files int
	}{
		{
			name:  "an allowlist that does not admit the new tag",
			rules: []manifest.Rule{renameRule("colors", []string{"/"}, "Red", "red"), allow("shop-vocabulary", []string{"/shop/"}, "Red", "size-*")},
			want:  []string{`/shop/5.jpg (f5): rule "colors" renames "Red" to "red", but rule "shop-vocabulary" forbids "red" there`},
			files: 1,
		},
		{
			name:  "a rule with a searchQuery that selects only one of the files",
			rules: []manifest.Rule{renameRule("colors", []string{"/a/"}, "Red", "red"), byQuery},
			want:  []string{`/a/1.jpg (f1): rule "colors" renames "Red" to "red", but rule "no-lowercase-red-in-old-files" forbids "red" there`},
			files: 1,
		},
		{
			name:  "two rules rename one tag to two tags",
			rules: []manifest.Rule{renameRule("lower", []string{"/a/"}, "Blue", "blue"), renameRule("navy", []string{"/a/"}, "Blue", "navy")},
			want:  []string{`/a/3.jpg (f3): rule "lower" renames "Blue" to "blue" but rule "navy" renames it to "navy"`},
			files: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, renameLibrary())
			p, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{})
			require.Nil(t, p)
			var rc *RenameConflictError
			require.ErrorAs(t, err, &rc)
			assert.Equal(t, tt.files, rc.Files)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), "nothing was changed")
			assert.Empty(t, lib.sent())
		})
	}
}

func TestApplyKeepsTheOldTagWhenTheNewOneIsNotAdded(t *testing.T) {
	lib := newTestLib(t, renameLibrary(), imagekittest.WithFailFiles("f1"))
	rules := []manifest.Rule{renameRule("colors", []string{"/a/"}, "Red", "red"), rule("no-sale", []string{"/"}, nil, "sale")}
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	r, err := Apply(context.Background(), lib, p, ApplyOptions{})
	require.NoError(t, err, "a 207 fails files, not the run")

	assert.ElementsMatch(t, []string{"Red", "sale"}, lib.tags("f1"), "f1 keeps Red: red could not be added")
	for _, b := range lib.sent() {
		if b.Endpoint == "" {
			assert.NotContains(t, b.FileIDs, "f1", "f1's removal is never sent")
		}
	}
	for _, f := range r.Files {
		if f.FileID != "f1" {
			assert.Equal(t, StatusChanged, f.Status, f.FileID)
			continue
		}
		assert.Equal(t, StatusFailed, f.Status)
		assert.Contains(t, f.Error, "its tags were not removed")
		assert.Empty(t, f.AddedTags)
		assert.Empty(t, f.RemovedTags)
	}
	assert.Equal(t, 1, r.Summary.FilesFailed)
}

func TestApplyInterruptedBetweenAddsAndRemovals(t *testing.T) {
	var files []imagekittest.File
	for i := range 120 {
		files = append(files, file(fmt.Sprintf("f%03d", i), fmt.Sprintf("/a/%03d.jpg", i), "Red"))
	}
	lib := newTestLib(t, files)
	rules := []manifest.Rule{renameRule("colors", []string{"/"}, "Red", "red")}
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	require.Len(t, byEndpoint(p.Batches, EndpointAddTags), 3)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lib.hook = func(_ context.Context, n int, ids, _ []string) (api.RemoveTagsResult, error, bool) {
		// The signal comes while the first removal is in flight, and the
		// API's answer after it: that call finishes, no other starts.
		cancel()
		return api.RemoveTagsResult{StatusCode: 200, Succeeded: ids, Attempts: 1}, nil, true
	}
	r, err := Apply(ctx, lib, p, ApplyOptions{Concurrency: 1})
	require.ErrorIs(t, err, context.Canceled)
	require.True(t, r.Interrupted)
	assert.Len(t, byEndpoint(lib.sent(), ""), 1, "no removal starts after the interrupt")
	var changed, pending int
	for _, f := range r.Files {
		assert.Equal(t, []string{"red"}, f.AddedTags, "every file got red before the interrupt: %s", f.FileID)
		switch f.Status {
		case StatusChanged:
			changed++
			assert.Equal(t, []string{"Red"}, f.RemovedTags)
			assert.Equal(t, []string{"red"}, lib.tags(f.FileID))
		case StatusPending:
			pending++
			assert.Empty(t, f.RemovedTags, "its removal is pending")
			assert.ElementsMatch(t, []string{"Red", "red"}, lib.tags(f.FileID), "both tags: nothing is lost")
		default:
			t.Errorf("%s is %s", f.FileID, f.Status)
		}
	}
	assert.Equal(t, 50, changed, "the call in flight finished")
	assert.Equal(t, 70, pending)
	assert.Equal(t, 120, r.Summary.TagsAdded)
	assert.Equal(t, 50, r.Summary.TagsRemoved)

	lib.hook = nil
	again, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	require.Len(t, again.Changes, 70)
	assert.Empty(t, byEndpoint(again.Batches, EndpointAddTags), "the pending files have red already: only Red goes")
	r, err = Apply(context.Background(), lib, again, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 70, r.Summary.FilesChanged)
	for _, f := range files {
		assert.Equal(t, []string{"red"}, lib.tags(f.FileID))
	}
}

func TestApplyRefusesAdditionsNoRenameNames(t *testing.T) {
	lib := newTestLib(t, renameLibrary())
	rules := []manifest.Rule{renameRule("colors", []string{"/a/"}, "Red", "red")}
	tests := map[string]func(p *Plan){
		"an addTags call with another tag": func(p *Plan) { p.Batches[0].Tags = []string{"admin"} },
		"an addTags call to a file whose change adds nothing": func(p *Plan) {
			p.Batches[0].FileIDs = append(p.Batches[0].FileIDs, "f2")
		},
		"a change that adds a tag no rename names": func(p *Plan) {
			for i := range p.Changes {
				p.Changes[i].AddTags = append(p.Changes[i].AddTags, "admin")
			}
			p.Batches[0].Tags = append(p.Batches[0].Tags, "admin")
		},
		"a removeAITags call": func(p *Plan) {
			p.Batches = append(p.Batches, Batch{Endpoint: EndpointRemoveAITags, FileIDs: []string{"f1"}, Tags: []string{"Person"}})
		},
		"an unknown endpoint": func(p *Plan) { p.Batches[0].Endpoint = "deleteFiles" },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
			require.NoError(t, err)
			lib.resetLog()
			edit(p)
			r, err := Apply(context.Background(), lib, p, ApplyOptions{})
			require.ErrorIs(t, err, ErrInconsistentPlan)
			assert.Empty(t, lib.sent(), "nothing is sent")
			assert.Equal(t, len(p.Changes), r.Summary.FilesPending)
		})
	}
}

func TestSavedPlanWithRenamesAndAITagsGoesStale(t *testing.T) {
	files := []imagekittest.File{
		withAI(file("f1", "/a/1.jpg", "Red"), "Person"),
		withAI(file("f2", "/a/2.jpg", "Red"), "Person"),
	}
	rules := []manifest.Rule{renameRule("colors", []string{"/a/"}, "Red", "red"), noAI("no-people", []string{"/a/"}, "Person")}
	tests := []struct {
		name    string
		edit    func(l *testLib)
		wantHow string
	}{
		{"the file got the new tag since", func(l *testLib) { l.addTags([]string{"red"}, "f1") },
			`it now carries "red" already, the new tag of its rename`},
		{"the old tag is gone", func(l *testLib) { l.removeTagsAside([]string{"Red"}, "f1") },
			`no rename adds "red" to it now`},
		{"the AITag is gone", func(l *testLib) { l.removeAITagsAside([]string{"Person"}, "f1") },
			`AITag "Person" was removed from it`},
		{"a rule now forbids the new tag", func(l *testLib) {
			l.edit(func(files []imagekittest.File) []imagekittest.File {
				files[0].FilePath = "/a/shop/1.jpg"
				return files
			})
		}, `rename conflict`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, files)
			rs := rules
			if tt.name == "a rule now forbids the new tag" {
				rs = append(slices.Clone(rules), allow("shop", []string{"/a/shop/"}, "Red"))
			}
			p, err := MakePlan(context.Background(), lib, rs, PlanOptions{})
			require.NoError(t, err)
			saved := savePlan(t, p)
			tt.edit(lib)
			lib.resetLog()
			_, err = ApplySavedPlan(context.Background(), lib, saved, ApplyOptions{})
			var se *StaleError
			require.ErrorAs(t, err, &se)
			require.Len(t, se.Check.Stale, 1)
			assert.Equal(t, "f1", se.Check.Stale[0].FileID)
			assert.Contains(t, se.Check.Stale[0].How, tt.wantHow)
			for _, b := range lib.sent() {
				t.Errorf("sent %+v", b)
			}
		})
	}
	t.Run("an unchanged library applies", func(t *testing.T) {
		lib := newTestLib(t, files)
		p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
		require.NoError(t, err)
		r, err := ApplySavedPlan(context.Background(), lib, savePlan(t, p), ApplyOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, r.Summary.FilesChanged)
		assert.Equal(t, 2, r.Summary.AITagsRemoved)
		assert.Equal(t, []string{"red"}, lib.tags("f1"))
		assert.Empty(t, aiOf(lib, "f1"))
	})
}

func TestRestoreUndoesAnApply(t *testing.T) {
	original := []imagekittest.File{
		withAI(file("f1", "/a/1.jpg", "Red", "sale", "keep"), "Person"),
		file("f2", "/a/2.jpg", "red", "Red"),
		file("f3", "/a/3.jpg", "sale"),
		file("f4", "/a/4.jpg", "sale"),
	}
	lib := newTestLib(t, original)
	rules := []manifest.Rule{
		renameRule("colors", []string{"/a/"}, "Red", "red"),
		rule("no-sale", []string{"/"}, nil, "sale"),
		noAI("no-people", []string{"/"}, "Person"),
	}
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	applied, err := Apply(context.Background(), lib, p, ApplyOptions{})
	require.NoError(t, err)
	lib.remove("f4")
	lib.addTags([]string{"added-since"}, "f3")

	rst, err := PlanRestore(context.Background(), lib, applied, "report.json", PlanOptions{})
	require.NoError(t, err)
	byID := map[string]Change{}
	for _, c := range rst.Plan.Changes {
		byID[c.FileID] = c
	}
	assert.Equal(t, []string{"Red", "sale"}, byID["f1"].AddTags)
	assert.Equal(t, []string{"red"}, byID["f1"].RemoveTags, "the tag the apply added goes")
	assert.Equal(t, []string{"Red"}, byID["f2"].AddTags)
	assert.Empty(t, byID["f2"].RemoveTags, "f2 had red before the apply: it keeps it")
	assert.Equal(t, []MissingFile{{FileID: "f4", FilePath: "/a/4.jpg"}}, rst.Missing)
	assert.Equal(t, []AITagsLost{{FileID: "f1", FilePath: "/a/1.jpg", AITags: []string{"Person"}}}, rst.NotRestorable)
	assert.Equal(t, EndpointAddTags, rst.Plan.Batches[0].Endpoint, "tags are added back before any is removed")

	r, err := ApplyRestore(context.Background(), lib, rst, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, "restore", r.Command)
	assert.Equal(t, 3, r.Summary.FilesChanged)
	assert.Equal(t, 1, r.Summary.FilesMissing)
	assert.Equal(t, rst.NotRestorable, r.NotRestorable)
	assert.ElementsMatch(t, []string{"Red", "sale", "keep"}, lib.tags("f1"))
	assert.ElementsMatch(t, []string{"red", "Red"}, lib.tags("f2"))
	assert.ElementsMatch(t, []string{"sale", "added-since"}, lib.tags("f3"), "a tag added since stays")

	second, err := PlanRestore(context.Background(), lib, applied, "report.json", PlanOptions{})
	require.NoError(t, err)
	assert.Empty(t, second.Plan.Changes, "a second restore finds nothing to do")
	assert.Empty(t, second.Plan.Batches)
}

func TestRestoreUndoesWhatAnInterruptedRenameConfirmed(t *testing.T) {
	rep := &Report{FormatVersion: FormatVersion, Command: "apply", Files: []FileResult{
		{FileID: "f1", FilePath: "/a/1.jpg", RemoveTags: []string{"Red"}, AddTags: []string{"red"}, Status: StatusPending, AddedTags: []string{"red"}},
		{FileID: "f2", FilePath: "/a/2.jpg", RemoveTags: []string{"Red"}, AddTags: []string{"red"}, Status: StatusPending},
		{FileID: "f3", FilePath: "/a/3.jpg", RemoveTags: []string{"sale"}, Status: StatusChanged}, // an older report: no removedTags
	}}
	lib := newTestLib(t, []imagekittest.File{file("f1", "/a/1.jpg", "Red", "red"), file("f2", "/a/2.jpg", "Red"), file("f3", "/a/3.jpg")})
	rst, err := PlanRestore(context.Background(), lib, rep, "r.json", PlanOptions{})
	require.NoError(t, err)
	require.Len(t, rst.Plan.Changes, 2)
	assert.Equal(t, Change{FileID: "f1", FilePath: "/a/1.jpg", TagsBefore: []string{"Red", "red"}, RemoveTags: []string{"red"}, Rules: []string{}}, rst.Plan.Changes[0])
	assert.Equal(t, []string{"sale"}, rst.Plan.Changes[1].AddTags)
}

func TestRenameConflictErrorListsAFew(t *testing.T) {
	e := &RenameConflictError{Files: 12, More: 2}
	for i := range 10 {
		e.Conflicts = append(e.Conflicts, RenameConflict{FileID: fmt.Sprint(i), FilePath: "/x", Rename: Rename{Old: "A", New: "a", Rule: "r"}, ForbiddenBy: []string{"s", "t"}})
	}
	msg := e.Error()
	assert.True(t, strings.HasPrefix(msg, "replaceTags cannot rename tags on 12 files: "), msg)
	assert.Contains(t, msg, `but rules "s" and "t" forbid "a" there`)
	assert.Contains(t, msg, "; and 9 more; nothing was changed")
	assert.True(t, errors.As(error(e), new(*RenameConflictError)))
}

func TestReadReportRefusesWhatRestoreCannotUse(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"not JSON", `{"formatVersion": 1, "comm`, "not a valid report file"},
		{"no formatVersion", `{"command": "apply"}`, "no formatVersion"},
		{"another formatVersion", `{"formatVersion": 2, "command": "apply"}`, "unsupported formatVersion 2"},
		{"a plan report", `{"formatVersion": 1, "command": "plan"}`, "the report of a plan, which changed nothing"},
		{"another command", `{"formatVersion": 1, "command": "export"}`, `command "export"`},
		{"a file without an id", `{"formatVersion": 1, "command": "apply", "files": [{"fileId": ""}]}`, "file 1 has no fileId"},
		{"a file twice", `{"formatVersion": 1, "command": "apply", "files": [{"fileId": "a"}, {"fileId": "a"}]}`, "file a is listed twice"},
		{"an empty tag", `{"formatVersion": 1, "command": "apply", "files": [{"fileId": "a", "addedTags": [""]}]}`, "names an empty tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.json")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o644))
			_, err := ReadReport(path)
			var re *ReportFileError
			require.ErrorAs(t, err, &re)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	t.Run("a written report reads back", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "r.json")
		r := &Report{FormatVersion: FormatVersion, Command: "apply", Files: []FileResult{{FileID: "a", AddedTags: []string{"red"}}}}
		require.NoError(t, WriteReportJSON(path, r))
		back, err := ReadReport(path)
		require.NoError(t, err)
		assert.Equal(t, []string{"red"}, back.Files[0].AddedTags)
	})
}
