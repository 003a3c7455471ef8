package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
)

// gateTimeout bounds every wait of the test handlers below, so that a
// client that never sends what a handler waits for fails the test instead
// of hanging it.
const gateTimeout = 5 * time.Second

// pageOf returns the page index of a list request.
func pageOf(r *http.Request) int {
	q := r.URL.Query()
	skip, _ := strconv.Atoi(q.Get("skip"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	return skip / limit
}

// pageEvents records when each page request arrived and was answered.
type pageEvents struct {
	mu       sync.Mutex
	arrived  map[int]chan struct{}
	answered map[int]chan struct{}
	order    []int // pages in the order they were answered
}

func newPageEvents() *pageEvents {
	return &pageEvents{arrived: map[int]chan struct{}{}, answered: map[int]chan struct{}{}}
}

func (e *pageEvents) ch(m map[int]chan struct{}, page int) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := m[page]
	if c == nil {
		c = make(chan struct{})
		m[page] = c
	}
	return c
}

func (e *pageEvents) answer(page int) {
	e.mu.Lock()
	e.order = append(e.order, page)
	e.mu.Unlock()
	close(e.ch(e.answered, page))
}

func (e *pageEvents) Order() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.order...)
}

// collect runs List to the end and returns the file ids and errors it yielded.
func collect(c *api.Client, ctx context.Context, p api.ListParams) (ids []string, errs []error) {
	for f, err := range c.List(ctx, p) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, f.FileID)
	}
	return ids, errs
}

func wantIDs(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("id%05d", i))
	}
	return out
}

func TestListAheadYieldsPagesInOrder(t *testing.T) {
	const files, limit = 95, 10 // pages 0..8 full, page 9 short
	ev := newPageEvents()
	lib := library(files)
	// Each odd page is answered only after the next page has been: the
	// answers come back out of order whenever two pages are in flight.
	h := func(w http.ResponseWriter, r *http.Request) {
		page := pageOf(r)
		if page%2 == 1 && page*limit < files {
			select {
			case <-ev.ch(ev.answered, page+1):
			case <-time.After(gateTimeout):
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		}
		lib(w, r)
		ev.answer(page)
	}
	c, _, _ := serve(t, []http.HandlerFunc{h}, api.WithListPrefetch(4))
	ids, errs := collect(c, context.Background(), api.ListParams{Limit: limit})
	require.Empty(t, errs)
	assert.Equal(t, wantIDs(0, files), ids, "every file once, in the API's order")
	order := ev.Order()
	require.GreaterOrEqual(t, len(order), 3)
	assert.Equal(t, []int{0, 2, 1}, order[:3], "page 2 was answered before page 1, yet yielded after it")
}

func TestListAheadCancelsWhatItNoLongerNeeds(t *testing.T) {
	const files, limit = 500, 10
	tests := []struct {
		name string
		// stop ends the listing from the consumer's side once it has seen
		// file number seen (from 1); it reports whether to break. ahead
		// is closed once a page after the second has reached the server.
		stop     func(t *testing.T, cancel context.CancelFunc, ahead <-chan struct{}, seen int) bool
		wantSeen int
		wantErrs int
		noneHung bool // no later page was in flight when the listing ended
	}{
		{
			// Page 2 is asked for as soon as page 0 has been yielded:
			// the consumer waits for it to reach the server, then breaks.
			name: "the caller breaks out of the loop",
			stop: func(t *testing.T, _ context.CancelFunc, ahead <-chan struct{}, seen int) bool {
				if seen != limit+5 {
					return false
				}
				waitFor(t, ahead, "page 2 reaches the server")
				return true
			},
			wantSeen: limit + 5,
		},
		{
			// The page in hand is yielded to its end; the next one fails.
			name: "the caller's context ends",
			stop: func(t *testing.T, cancel context.CancelFunc, ahead <-chan struct{}, seen int) bool {
				if seen == limit+5 {
					waitFor(t, ahead, "page 2 reaches the server")
					cancel()
				}
				return false
			},
			wantSeen: 2 * limit,
			wantErrs: 1,
		},
		{
			// Nothing is read ahead of the first page: the one request
			// after it fails at once.
			name: "the caller's context ends on the first page",
			stop: func(_ *testing.T, cancel context.CancelFunc, _ <-chan struct{}, seen int) bool {
				cancelAt(cancel, seen, 5)
				return false
			},
			wantSeen: limit,
			wantErrs: 1,
			noneHung: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := library(files)
			var hung, cancelled atomic.Int32
			ahead := make(chan struct{})
			var once sync.Once
			// Pages 0 and 1 are answered; later ones hang until their
			// request is cancelled.
			h := func(w http.ResponseWriter, r *http.Request) {
				if pageOf(r) < 2 {
					lib(w, r)
					return
				}
				hung.Add(1)
				once.Do(func() { close(ahead) })
				select {
				case <-r.Context().Done():
					cancelled.Add(1)
				case <-time.After(gateTimeout):
					lib(w, r)
				}
			}
			c, rec, _ := serve(t, []http.HandlerFunc{h}, api.WithListPrefetch(4))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			seen, errs := 0, 0
			for _, err := range c.List(ctx, api.ListParams{Limit: limit}) {
				if err != nil {
					errs++
					assert.ErrorIs(t, err, context.Canceled)
					continue
				}
				seen++
				if tt.stop(t, cancel, ahead, seen) {
					break
				}
			}
			assert.Equal(t, tt.wantErrs, errs, "errors yielded")
			assert.Equal(t, tt.wantSeen, seen, "files yielded")
			// List has returned: the requests it had in flight are over.
			reqs := len(rec.Requests())
			assert.LessOrEqual(t, reqs, 4, "at most the prefetch in flight")
			require.Eventually(t, func() bool { return cancelled.Load() == hung.Load() },
				gateTimeout, 10*time.Millisecond, "every hanging request was cancelled")
			if tt.noneHung {
				assert.Zero(t, hung.Load(), "no later page was asked for")
			} else {
				assert.Positive(t, hung.Load(), "a later page was in flight")
			}
		})
	}
}

// waitFor waits until ch is closed, failing the test if that takes longer
// than gateTimeout: the event is awaited, never assumed.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(gateTimeout):
		t.Fatalf("timed out waiting until %s", what)
	}
}

// cancelAt cancels once seen reaches at.
func cancelAt(cancel context.CancelFunc, seen, at int) {
	if seen == at {
		cancel()
	}
}

func TestListAheadStopsAtTheFirstError(t *testing.T) {
	const files, limit = 200, 10
	lib := library(files)
	h := func(w http.ResponseWriter, r *http.Request) {
		if pageOf(r) == 3 {
			answer(http.StatusUnauthorized, errBody("no key"))(w, r)
			return
		}
		lib(w, r)
	}
	c, rec, _ := serve(t, []http.HandlerFunc{h}, api.WithListPrefetch(4))
	var ids []string
	var errs []error
	afterErr := 0
	for f, err := range c.List(context.Background(), api.ListParams{Limit: limit}) {
		if len(errs) > 0 {
			afterErr++
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, f.FileID)
	}
	require.Len(t, errs, 1, "the error is yielded once")
	assert.ErrorIs(t, errs[0], api.ErrAuth)
	assert.Zero(t, afterErr, "nothing after the error")
	assert.Equal(t, wantIDs(0, 3*limit), ids, "the pages before the failed one, in order")
	assert.LessOrEqual(t, len(rec.Requests()), 3+4, "no page requested beyond the prefetch after the failed one")
}

func TestListAheadOverAnExactMultipleOfThePageSize(t *testing.T) {
	const files, limit = 40, 10
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("prefetch %d", n), func(t *testing.T) {
			c, rec, _ := serve(t, []http.HandlerFunc{library(files)}, api.WithListPrefetch(n))
			ids, errs := collect(c, context.Background(), api.ListParams{Limit: limit})
			require.Empty(t, errs)
			assert.Equal(t, wantIDs(0, files), ids)
			past := 0
			pages := map[int]bool{}
			for _, r := range rec.Requests() {
				req, err := http.NewRequest(http.MethodGet, "http://x/v1/files?"+r.Query, nil)
				require.NoError(t, err)
				page := pageOf(req)
				assert.False(t, pages[page], "page %d requested twice", page)
				pages[page] = true
				if page*limit >= files {
					past++
				}
			}
			assert.GreaterOrEqual(t, past, 1, "the empty page that ends the listing")
			assert.LessOrEqual(t, past, n, "one empty page, and at most n-1 read ahead and discarded")
			if n == 1 {
				assert.Equal(t, 1, past, "one after another: exactly one empty page")
			}
			assert.Equal(t, int64(len(rec.Requests())), c.Stats().List, "every request counted reached the server")
		})
	}
}

func TestListAheadKeepsAtMostNRequestsInFlight(t *testing.T) {
	const files, limit = 300, 10
	tests := []struct {
		name string
		opts []api.Option
		want int
	}{
		{name: "one after another", opts: []api.Option{api.WithListPrefetch(1)}, want: 1},
		{name: "two", opts: []api.Option{api.WithListPrefetch(2)}, want: 2},
		{name: "three", opts: []api.Option{api.WithListPrefetch(3)}, want: 3},
		{name: "the default", want: api.DefaultListPrefetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := library(files)
			var inFlight, peak atomic.Int32
			full := make(chan struct{}) // closed once want requests were in flight together
			var once sync.Once
			h := func(w http.ResponseWriter, r *http.Request) {
				now := inFlight.Add(1)
				defer inFlight.Add(-1)
				for {
					p := peak.Load()
					if now <= p || peak.CompareAndSwap(p, now) {
						break
					}
				}
				if int(now) >= tt.want {
					once.Do(func() { close(full) })
				}
				// From page want-1 on (when the window has grown to want),
				// hold the answers until the client has filled it once.
				if pageOf(r) >= tt.want-1 {
					select {
					case <-full:
					case <-time.After(gateTimeout):
					}
				}
				lib(w, r)
			}
			c, _, _ := serve(t, []http.HandlerFunc{h}, tt.opts...)
			ids, errs := collect(c, context.Background(), api.ListParams{Limit: limit})
			require.Empty(t, errs)
			assert.Equal(t, wantIDs(0, files), ids)
			assert.LessOrEqual(t, int(peak.Load()), tt.want, "requests in flight at once")
			assert.Equal(t, tt.want, int(peak.Load()), "the window fills up")
		})
	}
}
