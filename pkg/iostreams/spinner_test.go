package iostreams

import (
	"strings"
	"testing"
	"time"
)

func TestSpinner(t *testing.T) {
	s, _, _, errOut := Test()
	s.SetTTY(true)
	sp := s.StartSpinner("waiting for domain validation")
	time.Sleep(2 * spinnerTick)
	sp.Set("1 of 2 names validated")
	time.Sleep(2 * spinnerTick)
	sp.Stop()
	sp.Stop() // a second Stop is harmless
	got := errOut.String()
	if !strings.Contains(got, "⠋ waiting for domain validation") || !strings.Contains(got, "1 of 2 names validated") {
		t.Errorf("spinner drew %q", got)
	}
	if !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("the spinner's line is not cleared: %q", got)
	}

	// Not a terminal: nothing at all.
	s, _, _, errOut = Test()
	sp = s.StartSpinner("waiting")
	sp.Set("still waiting")
	sp.Stop()
	if errOut.Len() != 0 {
		t.Errorf("spinner off a terminal drew %q", errOut.String())
	}

	// A TERM=dumb terminal shows escape sequences as text: nothing either
	// (tester).
	s, _, _, errOut = Test()
	s.SetTTY(true)
	s.SetDumbTerminal(true)
	sp = s.StartSpinner("waiting")
	time.Sleep(2 * spinnerTick)
	sp.Stop()
	if errOut.Len() != 0 {
		t.Errorf("spinner on a dumb terminal drew %q", errOut.String())
	}

	// A nil spinner (quiet) does nothing.
	var none *Spinner
	none.Set("x")
	none.Stop()
}
