package export

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestExportSelectionFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdExport, "--filter-statement", "file://f.json", "--out-dir", "D", "--passphrase-file", "p")
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "" || o.Select.FilterStatement != "file://f.json" || o.OutDir != "D" || o.PassphraseFile != "p" || o.Select.DryRun {
		t.Errorf("options %+v", o)
	}
	o, err = flagtest.Parse(t, NewCmdExport, "--query-terse", "tag:env=prod", "--out-dir", "D", "--no-private-key", "--dry-run")
	if err != nil || !o.NoPrivateKey || !o.Select.DryRun {
		t.Errorf("--no-private-key --dry-run: %+v, %v", o, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--query-terse", "tag:a", "--passphrase-file", "p"}, "--query-terse needs --out-dir"},
		{[]string{"3f2a1b9c", "--query-terse", "tag:a", "--out-dir", "D"}, "--query-terse and the ARN argument"},
		{[]string{"--certificate-arn", "x", "--filter-statement", "{}", "--out-dir", "D"}, "--filter-statement and --certificate-arn"},
		{[]string{"--query-terse", "tag:a", "--out-file", "f", "--out-dir", "D"}, "--out-dir and --out-file"},
		{[]string{"3f2a1b9c", "--out-dir", "D", "--dry-run"}, "--dry-run"},
	} {
		_, err := flagtest.Parse(t, NewCmdExport, c.args...)
		if errs.ExitCodeOf(err) != errs.ExitUsage || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: exit %d (%v), want 2 naming %q", c.args, errs.ExitCodeOf(err), err, c.want)
		}
	}
}

// Directory names never hold a separator, never are "." or "..", and
// keep wildcard and slash names inside the export directory.
func TestDirName(t *testing.T) {
	id := "0123abcd-0000-4000-8000-000000000000"
	for domain, want := range map[string]string{
		"www.example.test":    "www.example.test_0123abcd",
		"*.example.test":      "_.example.test_0123abcd",
		"a/b/../../etc":       "a_b_.._.._etc_0123abcd",
		"..":                  "_._0123abcd",
		".hidden":             "_hidden_0123abcd",
		"":                    "certificate_0123abcd",
		"x\x1b[31my":          "x__31my_0123abcd",
		"Ünïcode.example":     "_n_code.example_0123abcd",
		"with space\\and\\bs": "with_space_and_bs_0123abcd",
	} {
		got := DirName(domain, id, false)
		if got != want {
			t.Errorf("DirName(%q) = %q, want %q", domain, got, want)
		}
		if strings.ContainsAny(got, `/\`) || filepath.Base(got) != got || strings.HasPrefix(got, ".") {
			t.Errorf("DirName(%q) = %q escapes its directory", domain, got)
		}
	}
	if got := DirName("a.test", id, true); got != "a.test_"+id {
		t.Errorf("full: %q", got)
	}
	long := DirName(strings.Repeat("a", 300), id, false)
	if len(long) > maxDirName+10 {
		t.Errorf("long name not bounded: %d", len(long))
	}
}

// Each certificate of a bulk export gets a directory of its own directly
// inside the export directory: names with slashes stay inside, two
// certificates whose short IDs collide get distinct directories, and a
// symbolic link planted under a certificate's name is refused.
func TestDirNamesStayInside(t *testing.T) {
	out := t.TempDir()
	n := &dirNames{taken: map[string]string{}}
	a, err := n.dir(out, "../../escape", "aaaaaaaa-1111-4000-8000-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.dir(out, "../../escape", "aaaaaaaa-2222-4000-8000-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(a) != out || filepath.Dir(b) != out || a == b {
		t.Fatalf("directories %s and %s, want two distinct entries of %s", a, b, out)
	}
	if !strings.HasSuffix(b, "aaaaaaaa-2222-4000-8000-000000000000") {
		t.Errorf("the second of two colliding names should carry the whole ID: %s", b)
	}
	// The same certificate again (a re-run) gets the same directory.
	if again, err := n.dir(out, "../../escape", "aaaaaaaa-1111-4000-8000-000000000000"); err != nil || again != a {
		t.Errorf("again: %s, %v, want %s", again, err, a)
	}
	id := "bbbbbbbb-0000-4000-8000-000000000000"
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(out, DirName("x.test", id, false))); err != nil {
		t.Fatal(err)
	}
	if d, err := n.dir(out, "x.test", id); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("a planted symbolic link: %s, %v, want a refusal", d, err)
	}
}

// The export directory swapped for a link another user could have made
// (one in a directory anybody may write) after checkOutDir made it: a
// certificate's folder is not made where the link leads (review: os.Mkdir
// resolved the path again and made it there).
func TestDirNamesNotThroughSwappedLink(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil { // whatever the umask
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	out := filepath.Join(shared, "out")
	if err := os.Symlink(elsewhere, out); err != nil {
		t.Fatal(err)
	}
	n := &dirNames{taken: map[string]string{}}
	d, err := n.dir(out, "y.test", "cccccccc-0000-4000-8000-000000000000")
	if err == nil {
		t.Errorf("made %s through a link in a directory anybody may write", d)
	}
	if got, _ := os.ReadDir(elsewhere); len(got) != 0 {
		t.Errorf("made %s where the link leads", got[0].Name())
	}
}
