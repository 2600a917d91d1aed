package iostreams

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/certctl/certctl/internal/ptytest"
)

// TestStatusWidthIsStderrs: with stdout a file and stderr a terminal 20
// columns wide, the status line is cut to stderr's width, not to the 80
// columns assumed for an stdout that is no terminal (tester: `import
// --from-dir … > out.json` on a narrow terminal drew a line that wrapped).
func TestStatusWidthIsStderrs(t *testing.T) {
	_, tty := ptytest.Open(t)
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 20}); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "out.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = out, tty
	t.Setenv("COLUMNS", "")
	t.Setenv("CERTCTL_FORCE_TTY", "")
	s := System()
	os.Stdout, os.Stderr = stdout, stderr
	if s.TerminalWidth() != 80 || s.StatusWidth() != 20 {
		t.Fatalf("TerminalWidth %d, StatusWidth %d; want 80 (stdout a file) and 20 (stderr's terminal)", s.TerminalWidth(), s.StatusWidth())
	}
}
