package gendocs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/fastpath"
)

// repoRoot is the repository root seen from this package's directory,
// where `go test` runs.
const repoRoot = "../.."

const regenerateHint = "run `go generate ./internal/gendocs` (or `make generate`) and commit the result"

// TestGeneratedFilesUpToDate fails when docs/man or completions differ
// from what the live command tree generates.
func TestGeneratedFilesUpToDate(t *testing.T) {
	tmp := t.TempDir()
	man, compl := filepath.Join(tmp, "man"), filepath.Join(tmp, "completions")
	if err := Generate(Tree(), man, compl); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	for _, d := range []struct{ name, committed, fresh string }{
		{"docs/man", filepath.Join(repoRoot, "docs", "man"), man},
		{"completions", filepath.Join(repoRoot, "completions"), compl},
	} {
		problems, err := compareDirs(d.committed, d.fresh)
		if err != nil {
			t.Fatalf("%v; %s", err, regenerateHint)
		}
		if len(problems) > 0 {
			t.Errorf("%s is stale:\n  %s\n%s", d.name, strings.Join(problems, "\n  "), regenerateHint)
		}
	}
}

// TestRootHelpUpToDate fails when pkg/fastpath/help.txt, which
// `certctl --help` prints before the command tree exists, differs from the
// help the tree renders.
func TestRootHelpUpToDate(t *testing.T) {
	want, err := RootHelp(Tree())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(want, []byte("Usage:")) || !bytes.Contains(want, []byte("EXIT STATUS")) {
		t.Fatalf("RootHelp rendered no root help:\n%s", want)
	}
	got, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(fastpath.HelpFile)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale; %s", fastpath.HelpFile, regenerateHint)
	}
	if fastpath.Help() != string(want) {
		t.Errorf("fastpath.Help() differs from the tree's help")
	}
}

// compareDirs lists, sorted, the files missing from committed, extra in it,
// or different from fresh. Directories are compared by their regular files.
func compareDirs(committed, fresh string) ([]string, error) {
	want, err := readDir(fresh)
	if err != nil {
		return nil, err
	}
	got, err := readDir(committed)
	if err != nil {
		return nil, err
	}
	var problems []string
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: missing", name))
		case !bytes.Equal(g, w):
			problems = append(problems, fmt.Sprintf("%s: differs (%s)", name, firstDiff(g, w)))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s: extra (no such generated file)", name))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

func readDir(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			out[e.Name()+"/"] = nil
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = data
	}
	return out, nil
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("line %d: committed %q, generated %q", i+1, gl, wl)
		}
	}
	return "same lines"
}

func TestCompareDirsReportsMissingExtraAndDifferent(t *testing.T) {
	committed, fresh := t.TempDir(), t.TempDir()
	write := func(dir, name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(fresh, "same.1", "a\nb\n")
	write(committed, "same.1", "a\nb\n")
	write(fresh, "new.1", "x")
	write(fresh, "changed.1", "a\nb\n")
	write(committed, "changed.1", "a\nB\n")
	write(committed, "old.1", "y")
	if err := os.Mkdir(filepath.Join(committed, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := compareDirs(committed, fresh)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`changed.1: differs (line 2: committed "B", generated "b")`,
		"new.1: missing",
		"old.1: extra (no such generated file)",
		"sub/: extra (no such generated file)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("compareDirs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := compareDirs(filepath.Join(committed, "absent"), fresh); err == nil {
		t.Error("compareDirs of a missing committed directory: no error")
	}
	// A trailing-line difference is still reported.
	if d := firstDiff([]byte("a\n"), []byte("a\nb\n")); !strings.Contains(d, "line 2") {
		t.Errorf("firstDiff = %q", d)
	}
}

func TestGenerateIsReproducibleAndRemovesStalePages(t *testing.T) {
	tmp := t.TempDir()
	man, compl := filepath.Join(tmp, "man"), filepath.Join(tmp, "compl")

	// A tree with an extra command, then the real tree: the extra page must go.
	extra := Tree()
	extra.AddCommand(&cobra.Command{Use: "zzz-gone", Short: "A command that will be removed", Run: func(*cobra.Command, []string) {}})
	if err := Generate(extra, man, compl); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(man, "certctl-zzz-gone.1")); err != nil {
		t.Fatalf("page of the extra command not written: %v", err)
	}
	bash, err := os.ReadFile(filepath.Join(compl, BashFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bash, []byte("certctl")) {
		t.Error("bash completion does not mention certctl")
	}
	// Files that are not generated are left alone.
	keep := filepath.Join(man, "README")
	if err := os.WriteFile(keep, []byte("notes"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := Generate(Tree(), man, compl); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(man, "certctl-zzz-gone.1")); !os.IsNotExist(err) {
		t.Errorf("stale page of a removed command not deleted (stat: %v)", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file that is not a man page was deleted: %v", err)
	}
	first, err := readDir(man)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := first["certctl.1"]; !ok {
		t.Fatal("no certctl.1")
	}
	if _, ok := first["certctl-list.1"]; !ok {
		t.Fatal("no certctl-list.1")
	}
	if !bytes.Contains(first["certctl.1"], []byte(`.TH "CERTCTL" "1" "Nov 2026" "certctl" "certctl manual"`)) {
		t.Errorf("certctl.1 header:\n%.200s", first["certctl.1"])
	}

	// Rendering the same tree again (already initialised) gives the same bytes.
	again := t.TempDir()
	tree := Tree()
	if _, err := ManPages(tree); err != nil {
		t.Fatal(err)
	}
	if err := Generate(tree, again, filepath.Join(again, "c")); err != nil {
		t.Fatal(err)
	}
	second, err := readDir(again)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range first {
		if name == "README" {
			continue
		}
		if !bytes.Equal(second[name], data) {
			t.Errorf("%s differs between two generations", name)
		}
	}
	if _, ok := second["certctl-help.1"]; ok {
		t.Error("the help command got a man page")
	}
}
