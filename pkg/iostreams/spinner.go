package iostreams

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Spinner draws a one-line spinner and a message on stderr while a command
// waits, when stderr is a terminal that is not TERM=dumb; otherwise it
// draws nothing. Its
// methods may be called on a nil *Spinner (no spinner), so that callers
// that were asked to be quiet need no branches.
type Spinner struct {
	w    io.Writer
	mu   sync.Mutex
	msg  string
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// spinnerFrames are drawn in turn, one every spinnerTick.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

const spinnerTick = 100 * time.Millisecond

// StartSpinner starts a spinner showing msg.
func (s *IOStreams) StartSpinner(msg string) *Spinner {
	sp := &Spinner{w: s.ErrOut, msg: msg, done: make(chan struct{})}
	if !s.stderrTTY || s.dumb {
		sp.once.Do(func() { close(sp.done) })
		return sp
	}
	sp.wg.Add(1)
	go sp.run()
	return sp
}

func (sp *Spinner) run() {
	defer sp.wg.Done()
	t := time.NewTicker(spinnerTick)
	defer t.Stop()
	for i := 0; ; i++ {
		sp.mu.Lock()
		fmt.Fprintf(sp.w, "\r\033[K%s %s", spinnerFrames[i%len(spinnerFrames)], sp.msg)
		sp.mu.Unlock()
		select {
		case <-sp.done:
			sp.mu.Lock()
			fmt.Fprint(sp.w, "\r\033[K")
			sp.mu.Unlock()
			return
		case <-t.C:
		}
	}
}

// Set changes the message.
func (sp *Spinner) Set(msg string) {
	if sp == nil {
		return
	}
	sp.mu.Lock()
	sp.msg = msg
	sp.mu.Unlock()
}

// Stop clears the spinner's line and returns once it is cleared.
func (sp *Spinner) Stop() {
	if sp == nil {
		return
	}
	sp.once.Do(func() { close(sp.done) })
	sp.wg.Wait()
}

// SetDumbTerminal marks the terminal TERM=dumb (or not), for tests.
func (s *IOStreams) SetDumbTerminal(dumb bool) { s.dumb = dumb }
