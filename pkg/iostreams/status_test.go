package iostreams

import (
	"bytes"
	"os"
	"testing"
)

// A status line is erased by the next write to stderr, and by handing out
// the file behind it (for a hook's command); a writer that is not a file
// hands out nothing.
func TestStatusLine(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &statusWriter{w: f}
	s.show("tagging 1/3 certificates")
	if got := s.File(); got != f {
		t.Fatalf("File() = %v, want the file", got)
	}
	s.File() // nothing shown: nothing written
	s.show("tagging 2/3 certificates")
	s.Write([]byte("hook: done\n"))
	s.show("")
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	const want = "\r\x1b[Ktagging 1/3 certificates\r\x1b[K\r\x1b[Ktagging 2/3 certificates\r\x1b[Khook: done\n"
	if string(data) != want {
		t.Errorf("stderr %q,\nwant   %q", data, want)
	}
	if got := (&statusWriter{w: &bytes.Buffer{}}).File(); got != nil {
		t.Errorf("File() over a buffer = %v, want nil", got)
	}
}
