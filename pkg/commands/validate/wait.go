package validate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/validation"
)

// PollInterval is how often --wait checks again.
var PollInterval = 5 * time.Second

// ParseTimeout parses a --timeout value.
func ParseTimeout(s string) (time.Duration, error) {
	d, err := timeutil.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errs.UsageErrorf("--timeout: invalid duration %q", s)
	}
	return d, nil
}

// Wait advances the validation of certificate id until it is issued or
// reaches another terminal status, or until timeout (exit 8). A spinner
// shows progress on a terminal's stderr.
func Wait(ctx context.Context, e *cmdutil.Env, svc *validation.Service, id string, timeout time.Duration) (*validation.Outcome, error) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sp := startSpinner(e.F.IO.ErrOut, e.F.IO.IsStderrTTY() && !e.F.Globals.Quiet)
	defer sp.stop()
	var last *validation.Outcome
	for {
		em := e.Emitter()
		out, err := svc.Advance(wctx, id, em)
		if err != nil {
			if errors.Is(wctx.Err(), context.DeadlineExceeded) {
				return last, timeoutErr(id, timeout)
			}
			return last, cmdutil.VaultError(err)
		}
		last = out
		e.Deliver(ctx, em)
		if out.Certificate.Status != inventory.StatusPendingValidation {
			return out, nil
		}
		sp.set(progress(out))
		select {
		case <-wctx.Done():
			if errors.Is(wctx.Err(), context.DeadlineExceeded) {
				return last, timeoutErr(id, timeout)
			}
			return last, cmdutil.VaultError(wctx.Err())
		case <-time.After(PollInterval):
		}
	}
}

func timeoutErr(id string, timeout time.Duration) error {
	return &errs.Error{Exit: errs.ExitTimeout, Msg: fmt.Sprintf("certificate %s was still pending validation after %s", id, timeutil.FormatDuration(timeout)),
		Hint: "create the validation records or approve the email, then run `certctl validate check " + id + "`"}
}

func progress(o *validation.Outcome) string {
	done := 0
	for _, v := range o.Certificate.Validations {
		if v.Status == validation.StatusSuccess {
			done++
		}
	}
	return fmt.Sprintf("waiting for domain validation: %d of %d names validated", done, len(o.Certificate.Validations))
}

// TerminalError is the error of a certificate that ended in a status other
// than ISSUED (exit 5), or nil.
func TerminalError(c *localstore.Certificate) error {
	switch c.Status {
	case inventory.StatusIssued, inventory.StatusPendingValidation:
		return nil
	}
	e := errs.Refusedf("certificate %s is %s", c.ID, c.Status)
	if c.FailureReason != "" {
		e = errs.Refusedf("certificate %s is %s (%s)", c.ID, c.Status, c.FailureReason).WithCode(c.FailureReason)
	}
	return e
}

// spinner draws a one-line spinner on a terminal; off, it does nothing.
type spinner struct {
	w    io.Writer
	mu   sync.Mutex
	msg  string
	done chan struct{}
	wg   sync.WaitGroup
}

func startSpinner(w io.Writer, on bool) *spinner {
	s := &spinner{w: w, msg: "waiting for domain validation", done: make(chan struct{})}
	if !on {
		close(s.done)
		return s
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			s.mu.Lock()
			fmt.Fprintf(s.w, "\r\033[K%s %s", frames[i%len(frames)], s.msg)
			s.mu.Unlock()
			select {
			case <-s.done:
				s.mu.Lock()
				fmt.Fprint(s.w, "\r\033[K")
				s.mu.Unlock()
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *spinner) set(msg string) {
	s.mu.Lock()
	s.msg = msg
	s.mu.Unlock()
}

func (s *spinner) stop() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.wg.Wait()
}
