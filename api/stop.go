package api

import "context"

// Two signals govern a call. The context passed to a method governs the
// request in flight: when it ends, the request is aborted and the call
// returns at once. A stop context attached with ContextWithStop governs
// whether anything new may start: once it ends, the call sends no further
// request (no first attempt, no retry, no page, no read-ahead) and returns
// at once from any wait on the pacer or a backoff, but a request already in
// flight is let finish under the call's own context. A caller that wants a
// grace period after an interrupt stops new requests on the interrupt and
// cancels the call's context when the grace period is over.

type stopKey struct{}

// ContextWithStop returns a copy of ctx that carries stop. Calls made with
// the returned context start no request once stop has ended; they return an
// *Error of kind ErrStopped that also wraps context.Cause(stop), with
// Attempts saying how many requests the call had sent before (0: nothing
// was sent). A request in flight when stop ends is not aborted: it runs
// until it is answered or ctx ends. A nil stop leaves ctx as it is.
func ContextWithStop(ctx context.Context, stop context.Context) context.Context {
	if stop == nil {
		return ctx
	}
	return context.WithValue(ctx, stopKey{}, stop)
}

// stopOf returns the stop context attached to ctx, or nil.
func stopOf(ctx context.Context) context.Context {
	s, _ := ctx.Value(stopKey{}).(context.Context)
	return s
}

// halt is what ends a call's waits: its context, or its stop context.
type halt struct {
	ctx  context.Context // the call's context
	stop context.Context // nil when none was attached
	wait context.Context // ends with either; every wait runs on it
	done context.CancelFunc
}

// newHalt prepares the waits of a call made with ctx. Call release when the
// call returns.
func newHalt(ctx context.Context) *halt {
	h := &halt{ctx: ctx, stop: stopOf(ctx)}
	if h.stop == nil {
		h.wait, h.done = ctx, func() {}
		return h
	}
	w, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(h.stop, cancel)
	h.wait = w
	h.done = func() { unhook(); cancel() }
	return h
}

func (h *halt) release() { h.done() }

// stopped returns the cause to report when the stop context has ended, or
// nil. A call's own cancelled context takes precedence: it is reported as
// such by the caller.
func (h *halt) stopped() error {
	if h.stop == nil || h.stop.Err() == nil || h.ctx.Err() != nil {
		return nil
	}
	return context.Cause(h.stop)
}
