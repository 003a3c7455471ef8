package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/reconcile"
)

// Exit codes, as DESIGN.md section 3 promises them.
const (
	exitOK          = 0
	exitError       = 1
	exitChanges     = 2
	exitIncomplete  = 3
	exitStale       = 4
	exitInterrupted = 130
)

// errSilent marks an error that has already been shown to the user.
var errSilent = errors.New("already reported")

// errChanges is what plan --detailed-exitcode returns when the plan has
// changes: not a failure, and nothing to print, but exit code 2.
var errChanges = errors.New("the plan has changes")

// incompleteError is an apply that finished with files it could not change.
type incompleteError struct{ failed int }

func (e *incompleteError) Error() string {
	return english.Plural(e.failed, "file", "files") + " could not be changed; see the report"
}

// interruptedError is a run stopped by SIGINT or SIGTERM; it matches
// context.Canceled. msg says what the run did before it stopped; without
// one, the error says to run command ("" for apply) again.
type interruptedError struct{ msg, command string }

func (e interruptedError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	command := e.command
	if command == "" {
		command = "apply"
	}
	return "interrupted: no new call was started; the report lists changed and pending files; run " + command + " again to finish"
}

func (interruptedError) Unwrap() error { return context.Canceled }

// exitCode maps an error to the exit code of DESIGN.md section 3. It is the
// only place that decides an exit code.
func exitCode(err error) int {
	var incomplete *incompleteError
	var stale *reconcile.StaleError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errChanges):
		return exitChanges
	case errors.As(err, &incomplete):
		return exitIncomplete
	case errors.As(err, &stale):
		return exitStale
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitError
}

// printError writes err on w, each fact once: the error chain on one line,
// then what to do about it when its type says (see hint).
func printError(w io.Writer, err error) {
	if err == nil || errors.Is(err, errSilent) || errors.Is(err, errChanges) {
		return
	}
	fmt.Fprintf(w, "Error: %v\n", err)
	if h := hint(err); h != "" {
		fmt.Fprintf(w, "  Hint: %s\n", h)
	}
}

// hint says what a person can do about an error, from its kind, once: it
// names the flags and variables that the error's own text does not. It
// returns "" for errors that need no advice and for an interrupted run. The
// api and reconcile packages report what happened; the advice, which names
// flags, commands and variables, is the CLI's.
func hint(err error) string {
	if errors.Is(err, context.Canceled) || errors.Is(err, api.ErrStopped) {
		return ""
	}
	if h := planHint(err); h != "" {
		return h
	}
	var ae *api.Error
	if !errors.As(err, &ae) {
		return ""
	}
	urlFlag := "--" + flagAPIURL + " (or " + envAPIURL + ")"
	switch {
	case errors.Is(err, api.ErrAuth) && ae.StatusCode == http.StatusUnauthorized:
		return fmt.Sprintf("set %s, or --%s FILE, to the account's private API key", envPrivateKey, flagPrivateKeyFile)
	case errors.Is(err, api.ErrAuth):
		return fmt.Sprintf("use a private key allowed to manage files, in %s or --%s", envPrivateKey, flagPrivateKeyFile)
	case errors.Is(err, api.ErrRedirect):
		return "tagprune follows no redirect, so that the key goes nowhere but the API it is given: " +
			"if the new location is the ImageKit API, set " + urlFlag + " to it"
	case errors.Is(err, api.ErrNotListening):
		return "check " + urlFlag + ": is the address right, and is the API up?"
	case errors.Is(err, api.ErrTransport) && isTimeout(err):
		return "if the API is only slow, raise --" + flagTimeout
	case errors.Is(err, api.ErrTransport):
		return "check " + urlFlag + " and the network"
	case errors.Is(err, api.ErrWaitTooLong):
		return "raise --" + flagMaxRateLimitWait + " to wait it out, or run again later; every job using the account's key shares its rate limit"
	case errors.Is(err, api.ErrRateLimited):
		return "every client using the account's key shares its rate limit: stop other jobs using it, or try again later"
	case errors.Is(err, api.ErrEndlessListing):
		return "the server does not page its listings like the ImageKit API (skip and limit): check that " + urlFlag + " points at the ImageKit API"
	case errors.Is(err, api.ErrDecode):
		return "check that " + urlFlag + " points at the ImageKit API"
	case errors.Is(err, api.ErrServer):
		return "the API is failing: try again later; removing tags again is safe"
	case errors.Is(err, api.ErrNotFound) && (len(ae.MissingFileIDs) > 0 || ae.Op == api.OpDetails):
		return "a file was deleted since it was read: re-plan to refresh"
	case errors.Is(err, api.ErrNotFound):
		return "the API has no such endpoint: check that " + urlFlag + " points at the ImageKit API"
	case errors.Is(err, api.ErrBadRequest):
		return "the API refused the request as sent: check the manifest's searchQuery and tags"
	}
	return ""
}

// planHint says what to do about a saved plan that apply refused, or about
// rules whose renames conflict; it returns "" for other errors.
func planHint(err error) string {
	var (
		stale    *reconcile.StaleError
		planFile *reconcile.PlanFileError
		source   *reconcile.SourceMismatchError
		rename   *reconcile.RenameConflictError
	)
	switch {
	case errors.As(err, &stale) && appliedAlready(stale):
		return "every planned file has already lost what the plan would remove: the plan was probably applied already; " +
			"tagprune plan shows whether anything is left to do"
	case errors.As(err, &stale):
		return "the library changed since the plan was made: make the plan again (tagprune plan --out PLANFILE), review it, and apply the new one"
	case errors.As(err, &source):
		return "apply the plan to the library it was made from, or make a new plan against this one"
	case errors.Is(err, reconcile.ErrInconsistentPlan):
		return "a plan file cannot be repaired by hand: make the plan again with tagprune plan --out PLANFILE"
	case errors.As(err, &planFile):
		return "make the plan again with this version of tagprune (tagprune plan --out PLANFILE)"
	case errors.As(err, &rename):
		return "a rename's new tag must be allowed wherever the rename applies: allow it in the rules that forbid it, " +
			"or narrow the files of one of the rules, then run tagprune plan again"
	}
	return ""
}

// appliedAlready reports whether every planned file of a stale plan would
// now lose nothing, as when the same plan was applied before.
func appliedAlready(stale *reconcile.StaleError) bool {
	c := stale.Check
	if c == nil || len(c.Stale) == 0 || len(c.Stale)+len(c.Missing) < c.Checked {
		return false
	}
	for _, f := range c.Stale {
		if len(f.NowRemove) > 0 || len(f.NowRemoveAITags) > 0 || len(f.NowAddTags) > 0 {
			return false
		}
	}
	return true
}

// isTimeout reports whether a transport error is a timeout: the per-request
// one, or the network's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// namesRequestURL reports whether err's text already names the API URL it
// was sent to: an *api.Error does, so the CLI does not repeat it.
func namesRequestURL(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.URL != ""
}
