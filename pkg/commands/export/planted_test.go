package export_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
)

// TestOutDirMakesNothingThroughAPlantedLink: export --out-dir through a
// link another user could have made or changed — here one in a directory
// every user may write — is refused (exit 4) before anything is made
// where the link leads, for one certificate and for a selection (tester:
// the directories were made there, then the files refused).
func TestOutDirMakesNothingThroughAPlantedLink(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("planted.internal", "--tags", "Key=batch,Value=p")
	shared := filepath.Join(e.Dir, "shared")
	target := filepath.Join(e.Dir, "target")
	for _, d := range []string{shared, target} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(shared, 0o777); err != nil { // no sticky bit: anyone may replace the link
		t.Fatal(err)
	}
	link := filepath.Join(shared, "dlink")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	pass := filepath.Join(e.Dir, "pass.txt")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"export", arn, "--passphrase-file", pass, "--out-dir", filepath.Join(link, "one", "a", "b")},
		{"export", "--query-terse", "tag:batch=p", "--passphrase-file", pass, "--out-dir", filepath.Join(link, "bulk"), "--yes"},
	} {
		r := e.Run(args...)
		if r.Code != 4 || !strings.Contains(r.Stderr, link+" is a symbolic link in "+shared+", which another user may write") {
			t.Errorf("%v: want exit 4 naming the link", r)
		}
		entries, err := os.ReadDir(target)
		if err != nil || len(entries) != 0 {
			t.Fatalf("after %q: %v made where the link leads (%v)", args, entries, err)
		}
	}
	// The directory the link leads to, named as it is: exported there.
	e.MustRun("export", arn, "--passphrase-file", pass, "--out-dir", filepath.Join(target, "one"))
	if _, err := os.Stat(filepath.Join(target, "one", "privkey.pem")); errors.Is(err, os.ErrNotExist) {
		t.Error("no key written to the directory named as it is")
	}
}
