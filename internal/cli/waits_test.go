package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tagprune/tagprune/api"
)

func TestWaitViewWithoutATerminal(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var b bytes.Buffer
	v := newWaitView(&progress{w: &b}, &b)
	v.now = func() time.Time { return now }
	w := api.Wait{Op: api.OpRemoveTags, Reason: api.WaitRateLimit, For: 4*time.Minute + 12*time.Second,
		Until: now.Add(4*time.Minute + 12*time.Second), Cause: "HTTP 429", Status: 429, Attempt: 1, RequestID: "abc"}
	v.hook(w)
	same := w
	same.Attempt = 2 // another call, waiting out the same reset
	v.hook(same)
	done := w
	done.Done = true
	v.hook(done)
	later := w
	later.Until = now.Add(10 * time.Minute)
	later.For = 10 * time.Minute
	v.hook(later)
	assert.Equal(t,
		"waiting 4m12s for the rate limit of remove tags (HTTP 429, request id abc)\n"+
			"waiting 10m0s for the rate limit of remove tags (HTTP 429, request id abc)\n",
		b.String(), "one line per wait, and one for waits that end together")
}

func TestWaitViewOnATerminalCountsDown(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &progress{w: &bytes.Buffer{}, on: true}
	v := newWaitView(p, &bytes.Buffer{})
	v.now = func() time.Time { return now }
	a := api.Wait{Op: api.OpRemoveTags, Reason: api.WaitRateLimit, For: time.Minute, Until: now.Add(time.Minute), Cause: "HTTP 429"}
	b := api.Wait{Op: api.OpList, Reason: api.WaitBackoff, For: 5 * time.Second, Until: now.Add(5 * time.Second), Cause: "HTTP 503", Attempt: 3}
	v.hook(a)
	v.hook(b)
	now = now.Add(20 * time.Second)
	v.mu.Lock()
	v.render()
	v.mu.Unlock()
	assert.Equal(t, "waiting 40s for the rate limit of remove tags (HTTP 429) (and 1 more waiting)", p.note)
	a.Done, b.Done = true, true
	v.hook(a)
	v.hook(b)
	assert.Empty(t, p.note, "no wait, no note")
}
