package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tagprune/tagprune/api"
)

// waitView shows on stderr the pauses of a second or more that the client
// makes for a rate limit or before a retry (api.WithWaitHook), so that a
// long pause never looks like a hang. With the progress display on, the
// wait that ends last is counted down in place, once a second. Otherwise
// (a CI log) each wait gets one line when it starts, and waits that end
// together for the same reason share it.
type waitView struct {
	p   *progress
	w   io.Writer
	now func() time.Time

	mu      sync.Mutex
	active  map[api.Wait]struct{} // the waits under way, Done false
	printed map[string]time.Time  // lines written, by what they say, until their wait ends
	ticking bool
}

func newWaitView(p *progress, w io.Writer) *waitView {
	return &waitView{p: p, w: w, now: time.Now, active: map[api.Wait]struct{}{}, printed: map[string]time.Time{}}
}

// hook is the client's wait hook.
func (v *waitView) hook(w api.Wait) {
	key := w
	key.Done = false
	v.mu.Lock()
	defer v.mu.Unlock()
	if w.Done {
		delete(v.active, key)
	} else {
		v.active[key] = struct{}{}
	}
	if !v.p.on {
		if !w.Done {
			v.line(w)
		}
		return
	}
	v.render()
	if len(v.active) > 0 && !v.ticking {
		v.ticking = true
		go v.tick()
	}
}

// line writes a wait on its own line, unless a wait that ends in the same
// second for the same reason was just written.
func (v *waitView) line(w api.Wait) {
	now := v.now()
	for k, until := range v.printed {
		if until.Before(now) {
			delete(v.printed, k)
		}
	}
	k := fmt.Sprintf("%s|%s|%s|%d", w.Op, w.Reason, w.Cause, w.Until.Unix())
	if _, ok := v.printed[k]; ok {
		return
	}
	v.printed[k] = w.Until
	fmt.Fprintln(v.w, w.String())
}

// render shows the wait that ends last, counted down, or nothing.
func (v *waitView) render() {
	var last api.Wait
	for w := range v.active {
		if w.Until.After(last.Until) {
			last = w
		}
	}
	if len(v.active) == 0 {
		v.p.setNote("")
		return
	}
	last.For = max(last.Until.Sub(v.now()), 0)
	note := last.String()
	if n := len(v.active) - 1; n > 0 {
		note += fmt.Sprintf(" (and %d more waiting)", n)
	}
	v.p.setNote(note)
}

// tick updates the countdown once a second while a wait is under way.
func (v *waitView) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for range t.C {
		v.mu.Lock()
		if len(v.active) == 0 {
			v.ticking = false
			v.mu.Unlock()
			return
		}
		v.render()
		v.mu.Unlock()
	}
}
