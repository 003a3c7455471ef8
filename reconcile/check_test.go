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

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

func TestCheckPlan(t *testing.T) {
	queried := rule("q", []string{"/q/"}, nil, "x")
	queried.SearchQuery = `name = "1.jpg"`
	rules := []manifest.Rule{rule("r", []string{"/a/"}, nil, "x", "y"), queried}
	files := []imagekittest.File{file("f1", "/a/1.jpg", "x"), file("f2", "/a/2.jpg", "x", "y"), file("f3", "/q/1.jpg", "x")}

	tests := []struct {
		name        string
		edit        func(l *testLib)
		wantStale   []string
		wantMissing []string
		wantHow     string
	}{
		{name: "an untouched library is current"},
		{
			name:      "a forbidden tag added since the plan makes it stale",
			edit:      func(l *testLib) { l.addTags([]string{"y"}, "f1") },
			wantStale: []string{"f1"},
			wantHow:   `it now carries forbidden tag "y", so it would now lose [x y] instead of [x]`,
		},
		{
			name:      "a planned tag removed by someone else makes it stale",
			edit:      func(l *testLib) { l.removeTagsAside([]string{"y"}, "f2") },
			wantStale: []string{"f2"},
			wantHow:   `tag "y" was removed from it`,
		},
		{
			name: "a file the searchQuery no longer selects is stale",
			edit: func(l *testLib) {
				l.edit(func(fs []imagekittest.File) []imagekittest.File {
					fs[2].Name = "renamed.jpg"
					return fs
				})
			},
			wantStale: []string{"f3"},
			wantHow:   `rule "q" no longer selects it, so it would now lose no tags`,
		},
		{
			name:      "a file moved out of its rules' folders is stale",
			edit:      func(l *testLib) { l.move("f1", "/elsewhere/") },
			wantStale: []string{"f1"},
			wantHow:   `moved to /elsewhere/1.jpg, tag "x" is no longer forbidden for it, rule "r" no longer selects it`,
		},
		{
			name: "a file moved within its rules' folders is current",
			edit: func(l *testLib) { l.move("f1", "/a/deeper/") },
		},
		{
			name:        "a deleted file is missing, not stale",
			edit:        func(l *testLib) { l.remove("f2") },
			wantMissing: []string{"f2"},
		},
		{
			name: "a file that entered the scope after the plan is not looked at",
			edit: func(l *testLib) { l.upload(file("f9", "/a/9.jpg", "x")) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, files)
			p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
			require.NoError(t, err)
			require.Len(t, p.Changes, 3)
			if tt.edit != nil {
				tt.edit(lib)
			}
			lib.resetLog()
			chk, err := CheckPlan(context.Background(), lib, p)
			require.NotNil(t, chk, "err = %v", err)
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
				assert.True(t, strings.HasSuffix(q, ` AND type = "file"`), "CheckPlan reads files only, got %s", q)
			}
			assert.Empty(t, lib.sent(), "CheckPlan sends nothing")
		})
	}
}

func TestApplySavedPlan(t *testing.T) {
	rules := []manifest.Rule{rule("r", []string{"/"}, nil, "x")}
	newPlan := func(t *testing.T) (*testLib, *Plan) {
		lib := newTestLib(t, nFiles("f", 4, "/a/", "x"))
		p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
		require.NoError(t, err)
		return lib, p
	}

	t.Run("a stale plan is refused and nothing is sent", func(t *testing.T) {
		lib, p := newPlan(t)
		lib.removeTagsAside([]string{"x"}, "f0001")
		r, err := ApplySavedPlan(context.Background(), lib, p, ApplyOptions{})
		var se *StaleError
		require.ErrorAs(t, err, &se)
		assert.Empty(t, lib.sent())
		assert.Equal(t, 4, r.Summary.FilesPending)
		assert.Contains(t, err.Error(), "f0001")
		assert.NotContains(t, err.Error(), "tagprune", "no command is named: the caller adds hints")
	})

	t.Run("missing files are dropped before any call and reported missing", func(t *testing.T) {
		lib, p := newPlan(t)
		lib.remove("f0002")
		lib.upload(file("new", "/a/new.jpg", "x"))
		r, err := ApplySavedPlan(context.Background(), lib, p, ApplyOptions{})
		require.NoError(t, err)
		require.Len(t, lib.sent(), 1)
		assert.Equal(t, []string{"f0000", "f0001", "f0003"}, lib.sent()[0].FileIDs)
		assert.Equal(t, map[string]string{"f0000": StatusChanged, "f0001": StatusChanged, "f0002": StatusMissing, "f0003": StatusChanged}, statuses(r))
		assert.Equal(t, []string{"x"}, lib.tags("new"), "a file that entered the scope after the plan is not touched")
	})

	t.Run("a plan is applied only to the source it was made from", func(t *testing.T) {
		for _, tt := range []struct {
			name         string
			plan, target *Source
			ok           bool
		}{
			{"the same API", &Source{APIURL: "https://api.imagekit.io"}, &Source{APIURL: "https://api.imagekit.io/"}, true},
			{"the same library file", &Source{Library: "lib.json"}, &Source{Library: "./lib.json"}, true},
			{"nothing recorded on either side", nil, nil, true},
			{"another API", &Source{APIURL: "https://api.imagekit.io"}, &Source{APIURL: "http://127.0.0.1:8080"}, false},
			{"a library instead of the API", &Source{APIURL: "https://api.imagekit.io"}, &Source{Library: "lib.json"}, false},
			{"another library file", &Source{Library: "lib.json"}, &Source{Library: "other.json"}, false},
			{"a plan that recorded no source", nil, &Source{Library: "lib.json"}, false},
			{"a target that says no source", &Source{Library: "lib.json"}, nil, false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				lib, p := newPlan(t)
				lib.resetLog()
				p.Source = tt.plan
				r, err := ApplySavedPlan(context.Background(), lib, p, ApplyOptions{Source: tt.target})
				if tt.ok {
					require.NoError(t, err)
					assert.Len(t, lib.sent(), 1)
					return
				}
				var sm *SourceMismatchError
				require.ErrorAs(t, err, &sm)
				assert.Empty(t, lib.sent())
				assert.Empty(t, lib.queries, "nothing is read either")
				assert.Equal(t, 4, r.Summary.FilesPending)
				assert.Equal(t, err.Error(), r.Error)
			})
		}
	})
}

func TestWriteAndReadPlan(t *testing.T) {
	lib := newTestLib(t, []imagekittest.File{file("f1", "/a/1.jpg", "x", "y"), file("f2", "/a/2.jpg", "x")})
	p, err := MakePlan(context.Background(), lib, []manifest.Rule{rule("r", []string{"/"}, nil, "x"), rule("s", []string{"/a/"}, nil, "z")}, PlanOptions{Tool: "test", Source: &Source{Library: "lib.json"}})
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
		}, `removes tag "y", which none of its rules forbids`},
		{"a removal the file does not carry", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				c := m["changes"].([]any)[1].(map[string]any)
				c["removeTags"] = []any{"x", "y"}
			})
		}, `removes tag "y", which is not in its tagsBefore`},
		{"a removal left out", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				c := m["changes"].([]any)[0].(map[string]any)
				c["tagsBefore"] = []any{"x", "y", "z"}
			})
		}, `keeps tag "z", which its rules forbid`},
		{"a rule named that does not select the file", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				c := m["changes"].([]any)[0].(map[string]any)
				c["filePath"] = "/b/1.jpg"
				c["rules"] = []any{"r", "s"}
			})
		}, `names rule "s", which does not select it or forbids none of its tags`},
		{"a rule left unnamed", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				m["changes"].([]any)[0].(map[string]any)["rules"] = []any{}
			})
		}, `does not name rule "r", which forbids some of its tags`},
		{"the empty tag in a batch", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				b := m["batches"].([]any)[0].(map[string]any)
				b["tags"] = append(b["tags"].([]any), "")
			})
		}, "removes the empty tag, which the API refuses"},
		{"a batch naming a file twice", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				b := m["batches"].([]any)[0].(map[string]any)
				b["fileIds"] = append(b["fileIds"].([]any), b["fileIds"].([]any)[0])
			})
		}, "names file f1 twice"},
		{"an unknown endpoint", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				m["batches"].([]any)[0].(map[string]any)["endpoint"] = "deleteFiles"
			})
		}, `unknown endpoint "deleteFiles"`},
		{"rules that do not compile", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				m["rules"].([]any)[0].(map[string]any)["paths"] = []any{"/a"}
				m["rulesDigest"] = ""
			})
		}, `rule "r": path "/a" does not end with "/"`},
		{"a batch tag not forbidden for its file", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				m["batches"].([]any)[0].(map[string]any)["tags"] = []any{"x", "keep"}
			})
		}, `would remove tag "keep" from file`},
		{"a rule name the plan does not hold", func(t *testing.T) string {
			return edit(t, func(m map[string]any) {
				m["changes"].([]any)[0].(map[string]any)["rules"] = []any{"ghost", "r"}
			})
		}, `names rule "ghost", which is not in the plan's rules`},
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
			assert.NotContains(t, err.Error(), "plan --out", "no command is named: the caller adds hints")
			assert.NotContains(t, err.Error(), "plan again", "no command is named: the caller adds hints")
		})
	}
	t.Run("refuses AITag removals, additions and renames its own rules do not give", func(t *testing.T) {
		for name, tc := range map[string]struct {
			edit func(m map[string]any)
			want string
		}{
			"a change with removeAITags": {func(m map[string]any) {
				m["changes"].([]any)[0].(map[string]any)["removeAITags"] = []any{"Person"}
			}, `removes AITag "Person", which is not in its aiTagsBefore`},
			"an addTags batch": {func(m map[string]any) {
				m["batches"].([]any)[0].(map[string]any)["endpoint"] = "addTags"
			}, "which no rename of a rule that selects it adds"},
			"a change with addTags": {func(m map[string]any) {
				m["changes"].([]any)[0].(map[string]any)["addTags"] = []any{"red"}
			}, `adds tag "red", which no rename of a rule that selects it adds`},
			"a rule with replaceTags": {func(m map[string]any) {
				m["rules"].([]any)[0].(map[string]any)["replaceTags"] = map[string]any{"Red": "red"}
			}, "rulesDigest"},
		} {
			t.Run(name, func(t *testing.T) {
				bad := filepath.Join(t.TempDir(), "bad.json")
				var doc map[string]any
				require.NoError(t, json.Unmarshal(raw, &doc))
				tc.edit(doc)
				b, err := json.Marshal(doc)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(bad, b, 0o644))
				_, err = ReadPlan(bad)
				require.ErrorIs(t, err, ErrInconsistentPlan)
				assert.Contains(t, err.Error(), tc.want)
				assert.Contains(t, err.Error(), bad)
			})
		}
	})
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
