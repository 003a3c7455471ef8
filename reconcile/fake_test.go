package reconcile

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/tagprune/tagprune/api"
)

// fakeLib is an in-memory Library. Its search understands the narrow query
// shapes the planner emits (path :, tags IN, id IN, name =, AND, OR and
// parentheses) and fails on anything else.
type fakeLib struct {
	mu    sync.Mutex
	order []string
	files map[string]*api.File
	// queries records every searchQuery listed.
	queries []string
	// calls records every removeTags call that reached the library.
	calls []Batch
	// hook, if set, may answer a removeTags call instead of the library;
	// n counts calls from 0.
	hook  func(ctx context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool)
	stats api.Stats
}

func newFakeLib(files ...api.File) *fakeLib {
	l := &fakeLib{files: map[string]*api.File{}}
	for _, f := range files {
		l.add(f)
	}
	return l
}

func (l *fakeLib) add(f api.File) {
	if _, ok := l.files[f.FileID]; !ok {
		l.order = append(l.order, f.FileID)
	}
	f.Tags = slices.Clone(f.Tags)
	l.files[f.FileID] = &f
}

func (l *fakeLib) tags(id string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.files[id].Tags)
}

func (l *fakeLib) Stats() api.Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *fakeLib) List(ctx context.Context, p api.ListParams) iter.Seq2[api.File, error] {
	return func(yield func(api.File, error) bool) {
		match, err := parseQuery(p.SearchQuery)
		if err != nil {
			yield(api.File{}, err)
			return
		}
		l.mu.Lock()
		l.queries = append(l.queries, p.SearchQuery)
		var out []api.File
		for _, id := range l.order {
			if f, ok := l.files[id]; ok && match(f) {
				c := *f
				c.Tags = slices.Clone(f.Tags)
				out = append(out, c)
			}
		}
		pages := (len(out) + api.MaxPageSize - 1) / api.MaxPageSize
		l.stats.List += int64(max(pages, 1))
		l.mu.Unlock()
		for _, f := range out {
			if !yield(f, nil) {
				return
			}
		}
	}
}

func (l *fakeLib) RemoveTags(ctx context.Context, ids, tags []string) (api.RemoveTagsResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.calls)
	l.calls = append(l.calls, Batch{FileIDs: slices.Clone(ids), Tags: slices.Clone(tags)})
	l.stats.RemoveTags++
	if len(ids) == 0 || len(ids) > api.MaxRemoveTagsFiles || len(tags) == 0 {
		return api.RemoveTagsResult{}, &api.Error{Op: "remove tags", StatusCode: 400, Kind: api.ErrBadRequest, Message: "bad call", Attempts: 1}
	}
	if l.hook != nil {
		l.mu.Unlock()
		res, err, ok := l.hook(ctx, n, ids, tags)
		l.mu.Lock()
		if ok {
			if err == nil || res.StatusCode == 207 {
				for _, id := range res.Succeeded {
					l.strip(id, tags)
				}
			}
			return res, err
		}
	}
	var missing []string
	for _, id := range ids {
		if _, ok := l.files[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return api.RemoveTagsResult{}, &api.Error{Op: "remove tags", StatusCode: 404, Kind: api.ErrNotFound, MissingFileIDs: missing, Message: "The requested file(s) does not exist.", Attempts: 1}
	}
	for _, id := range ids {
		l.strip(id, tags)
	}
	return api.RemoveTagsResult{StatusCode: 200, Succeeded: slices.Clone(ids), Attempts: 1}, nil
}

func (l *fakeLib) strip(id string, tags []string) {
	if f, ok := l.files[id]; ok {
		f.Tags = slices.DeleteFunc(f.Tags, func(t string) bool { return slices.Contains(tags, t) })
	}
}

// parseQuery compiles the searchQuery subset the planner emits.
func parseQuery(q string) (func(*api.File) bool, error) {
	if strings.TrimSpace(q) == "" {
		return func(*api.File) bool { return true }, nil
	}
	p := &qparser{toks: lex(q)}
	m, err := p.or()
	if err == nil && p.i != len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.i])
	}
	if err != nil {
		return nil, fmt.Errorf("fake library: searchQuery %q: %w", q, err)
	}
	return m, nil
}

// lex splits a query into tokens; strings keep their quotes, unescaped.
func lex(q string) []string {
	var toks []string
	for i := 0; i < len(q); {
		switch c := q[i]; {
		case c == ' ':
			i++
		case strings.IndexByte("()[],:=", c) >= 0:
			toks = append(toks, string(c))
			i++
		case c == '"':
			var b strings.Builder
			b.WriteByte('"')
			i++
			for i < len(q) && q[i] != '"' {
				if q[i] == '\\' && i+1 < len(q) {
					i++
				}
				b.WriteByte(q[i])
				i++
			}
			i++
			toks = append(toks, b.String())
		default:
			j := i
			for j < len(q) && strings.IndexByte(" ()[],:=\"", q[j]) < 0 {
				j++
			}
			toks = append(toks, q[i:j])
			i = j
		}
	}
	return toks
}

type qparser struct {
	toks []string
	i    int
}

func (p *qparser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *qparser) next() string { t := p.peek(); p.i++; return t }

func (p *qparser) or() (func(*api.File) bool, error) {
	m, err := p.and()
	for err == nil && p.peek() == "OR" {
		p.i++
		var r func(*api.File) bool
		if r, err = p.and(); err == nil {
			l := m
			m = func(f *api.File) bool { return l(f) || r(f) }
		}
	}
	return m, err
}

func (p *qparser) and() (func(*api.File) bool, error) {
	m, err := p.prim()
	for err == nil && p.peek() == "AND" {
		p.i++
		var r func(*api.File) bool
		if r, err = p.prim(); err == nil {
			l := m
			m = func(f *api.File) bool { return l(f) && r(f) }
		}
	}
	return m, err
}

func (p *qparser) str() (string, error) {
	t := p.next()
	if !strings.HasPrefix(t, `"`) {
		return "", fmt.Errorf("want a string, got %q", t)
	}
	return t[1:], nil
}

func (p *qparser) list() ([]string, error) {
	if p.next() != "[" {
		return nil, fmt.Errorf("want [")
	}
	var out []string
	for {
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		switch p.next() {
		case ",":
		case "]":
			return out, nil
		default:
			return nil, fmt.Errorf("want , or ]")
		}
	}
}

func (p *qparser) prim() (func(*api.File) bool, error) {
	if p.peek() == "(" {
		p.i++
		m, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("want )")
		}
		return m, nil
	}
	field, op := p.next(), p.next()
	switch {
	case field == "path" && op == ":":
		s, err := p.str()
		return func(f *api.File) bool { return strings.HasPrefix(f.FilePath, s) }, err
	case field == "name" && op == "=":
		s, err := p.str()
		return func(f *api.File) bool { return f.Name == s }, err
	case (field == "tags" || field == "id") && op == "IN":
		vals, err := p.list()
		if field == "id" {
			return func(f *api.File) bool { return slices.Contains(vals, f.FileID) }, err
		}
		return func(f *api.File) bool {
			for _, t := range f.Tags {
				if slices.Contains(vals, t) {
					return true
				}
			}
			for _, t := range f.AITags {
				if slices.Contains(vals, t.Name) {
					return true
				}
			}
			return false
		}, err
	}
	return nil, fmt.Errorf("unsupported %s %s", field, op)
}
