package validate

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/timeutil"
)

// ParseTimeout parses a --timeout value.
func ParseTimeout(s string) (time.Duration, error) {
	d, err := timeutil.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errs.UsageErrorf("--timeout: invalid duration %q", s)
	}
	return d, nil
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
