package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/manifest"
)

func TestCheckPlan(t *testing.T) {
	queried := rule("q", []string{"/q/"}, nil, "x")
	queried.Files.SearchQuery = `name = "1.jpg"`
	rules := []manifest.Rule{rule("r", []string{"/a/"}, nil, "x", "y"), queried}
	files := []api.File{file("f1", "/a/1.jpg", "x"), file("f2", "/a/2.jpg", "x", "y"), file("f3", "/q/1.jpg", "x")}

	tests := []struct {
		name        string
		edit        func(l *fakeLib)
		wantStale   []string
		wantMissing []string
		wantHow     string
	}{
		{name: "an untouched library is current"},
		{
			name:      "a forbidden tag added since the plan makes it stale",
			edit:      func(l *fakeLib) { l.files["f1"].Tags = append(l.files["f1"].Tags, "y") },
			wantStale: []string{"f1"},
			wantHow:   `it now carries forbidden tag "y", so it would now lose [x y] instead of [x]`,
		},
		{
			name:      "a planned tag removed by someone else makes it stale",
			edit:      func(l *fakeLib) { l.files["f2"].Tags = []string{"x"} },
			wantStale: []string{"f2"},
			wantHow:   `tag "y" was removed from it`,
		},
		{
			name:      "a file the searchQuery no longer selects is stale",
			edit:      func(l *fakeLib) { l.files["f3"].Name = "renamed.jpg" },
			wantStale: []string{"f3"},
			wantHow:   "would now lose no tags",
		},
		{
			name:        "a deleted file is missing, not stale",
			edit:        func(l *fakeLib) { delete(l.files, "f2") },
			wantMissing: []string{"f2"},
		},
		{
			name: "a file that entered the scope after the plan is not looked at",
			edit: func(l *fakeLib) { l.add(file("f9", "/a/9.jpg", "x")) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newFakeLib(files...)
			p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
			require.NoError(t, err)
			require.Len(t, p.Changes, 3)
			if tt.edit != nil {
				tt.edit(lib)
			}
			lib.queries = nil
			chk, err := CheckPlan(context.Background(), lib, p)
			require.NotNil(t, chk)
			var stale, missing []string
			for _, s := range chk.Stale {
				stale = append(stale, s.FileID)
				assert.Contains(t, s.How, tt.wantHow)
			}
			for _, m := range chk.Missing {
				missing = append(missing, m.FileID)
			}
			assert.Equal(t, tt.wantStale, stale)
			assert.Equal(t, tt.wantMissing, missing)
			var se *StaleError
			assert.Equal(t, len(tt.wantStale) > 0, errors.As(err, &se), "err = %v", err)
			for _, q := range lib.queries {
				assert.True(t, strings.HasPrefix(q, "id IN ["), "CheckPlan reads by id, got %s", q)
			}
		})
	}
}

func TestApplySavedPlan(t *testing.T) {
	rules := []manifest.Rule{rule("r", []string{"/"}, nil, "x")}
	newPlan := func(t *testing.T) (*fakeLib, *Plan) {
		lib := newFakeLib(nFiles("f", 4, "/a/", "x")...)
		p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
		require.NoError(t, err)
		return lib, p
	}

	t.Run("a stale plan is refused and nothing is sent", func(t *testing.T) {
		lib, p := newPlan(t)
		lib.files["f0001"].Tags = nil
		r, err := ApplySavedPlan(context.Background(), lib, p, ApplyOptions{})
		var se *StaleError
		require.ErrorAs(t, err, &se)
		assert.Empty(t, lib.calls)
		assert.Equal(t, 4, r.Summary.FilesPending)
		assert.Contains(t, err.Error(), "f0001")
	})

	t.Run("missing files are dropped before any call and reported missing", func(t *testing.T) {
		lib, p := newPlan(t)
		delete(lib.files, "f0002")
		lib.add(file("new", "/a/new.jpg", "x"))
		r, err := ApplySavedPlan(context.Background(), lib, p, ApplyOptions{})
		require.NoError(t, err)
		require.Len(t, lib.calls, 1)
		assert.Equal(t, []string{"f0000", "f0001", "f0003"}, lib.calls[0].FileIDs)
		assert.Equal(t, map[string]string{"f0000": StatusChanged, "f0001": StatusChanged, "f0002": StatusMissing, "f0003": StatusChanged}, statuses(r))
		assert.Equal(t, []string{"x"}, lib.tags("new"), "a file that entered the scope after the plan is not touched")
	})
}

func TestWriteAndReadPlan(t *testing.T) {
	lib := newFakeLib(file("f1", "/a/1.jpg", "x", "y"), file("f2", "/a/2.jpg", "x"))
	p, err := MakePlan(context.Background(), lib, []manifest.Rule{rule("r", []string{"/"}, nil, "x"), rule("s", []string{"/a/"}, nil, "z")}, PlanOptions{Tool: "test"})
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	require.NoError(t, WritePlan(path, p))

	t.Run("a written plan reads back unchanged", func(t *testing.T) {
		got, err := ReadPlan(path)
		require.NoError(t, err)
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("plan (-written +read):\n%s", diff)
		}
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "no temporary file is left behind")
	})

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	edit := func(t *testing.T, f func(m map[string]any)) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		f(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
	tests := []struct {
		name    string
		content func(t *testing.T) string
		want    string
	}{
		{"truncated", func(*testing.T) string { return string(raw[:len(raw)/2]) }, "truncated or not JSON"},
		{"not JSON", func(*testing.T) string { return "hello" }, "truncated or not JSON"},
		{"no formatVersion", func(*testing.T) string { return "{}" }, "no formatVersion"},
		{"unknown formatVersion", func(t *testing.T) string {
			return edit(t, func(m map[string]any) { m["formatVersion"] = 2 })
		}, "unsupported formatVersion 2: this tagprune reads formatVersion 1"},
		{"a removal no rule forbids", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				c := m["changes"].([]any)[0].(map[string]any)
				c["removeTags"] = []any{"x", "y"}
				b := m["batches"].([]any)[0].(map[string]any)
				b["tags"] = []any{"x", "y"}
			})
		}, `removes tag "y", which none of its rules`},
		{"a batch tag not forbidden for its file", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				m["batches"].([]any)[0].(map[string]any)["tags"] = []any{"x", "keep"}
			})
		}, `would remove tag "keep" from file`},
		{"a rule name the plan does not hold", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				m["changes"].([]any)[0].(map[string]any)["rules"] = []any{"ghost", "r"}
			})
		}, `names rule "ghost"`},
		{"rules edited without their digest", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				m["rules"].([]any)[0].(map[string]any)["forbiddenTags"] = []any{"x", "y"}
			})
		}, "rulesDigest"},
		{"a change no batch covers", func(t *testing.T) string {
			return edit(t, func(m map[string]any) { m["batches"] = []any{} })
		}, "no batch removes"},
		{"a batch file that is not a change", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				b := m["batches"].([]any)[0].(map[string]any)
				b["fileIds"] = append(b["fileIds"].([]any), "stranger")
			})
		}, "not one of the plan's changes"},
		{"a batch over 50 files", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				b := m["batches"].([]any)[0].(map[string]any)
				for range 50 {
					b["fileIds"] = append(b["fileIds"].([]any), "f1")
				}
			})
		}, "a call takes 1..50"},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.json")
			require.NoError(t, os.WriteFile(bad, []byte(tt.content(t)), 0o644))
			_, err := ReadPlan(bad)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), bad)
		})
	}
}

func TestWriteReport(t *testing.T) {
	lib, p := planFor(t, 3, 50)
	r, err := Apply(context.Background(), lib, p, ApplyOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	for name, want := range map[string]string{"r.json": `"fileId": "f0001"`, "r.md": "f0001", "r.xml": "<testsuites"} {
		t.Run("the extension chooses the format of "+name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			require.NoError(t, WriteReport(path, r))
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Contains(t, string(b), want)
		})
	}
	b, err := os.ReadFile(filepath.Join(dir, "r.json"))
	require.NoError(t, err)
	var back Report
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, 1, back.FormatVersion)
	assert.Equal(t, "apply", back.Command)
	assert.Equal(t, 3, back.Summary.FilesChanged)
	assert.Len(t, back.Batches, 1)

	pr := PlanReport(p)
	assert.Equal(t, "plan", pr.Command)
	assert.Equal(t, 3, pr.Summary.FilesPending)
	for _, f := range pr.Files {
		assert.Equal(t, StatusPending, f.Status)
	}
}
