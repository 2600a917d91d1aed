// Package gendocs generates certctl's man pages and shell completion scripts
// from the live command tree, so that what is committed under docs/man and
// completions never drifts from the commands. A test in this package fails
// when the committed files are stale.
package gendocs

//go:generate go run ./cmd/gendocs -root ../..

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// Date is the date printed in every man page's header. It is a constant so
// that regeneration is byte-identical; bump it when cutting a release whose
// pages changed substantially.
var Date = time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)

// Completion script file names, by shell.
const (
	BashFile       = "certctl.bash"
	ZshFile        = "_certctl"
	FishFile       = "certctl.fish"
	PowerShellFile = "certctl.ps1"
)

// ManHeader returns the .TH header fields shared by every page. Title is
// left empty so that each page is titled after its command (CERTCTL,
// CERTCTL-LIST, …), as man(1) expects.
func ManHeader() *doc.GenManHeader {
	d := Date
	return &doc.GenManHeader{
		Section: "1",
		Source:  "certctl",
		Manual:  "certctl manual",
		Date:    &d,
	}
}

// Generate writes the man pages of root and all its available descendants
// to manDir and the bash, zsh, fish and PowerShell completion scripts to
// complDir, creating both directories if needed. Files in them that look
// generated (*.1 pages, certctl* or _certctl* scripts) but are no longer
// produced — a page of a removed command — are deleted; files that are
// unchanged are not rewritten.
func Generate(root *cobra.Command, manDir, complDir string) error {
	man, err := ManPages(root)
	if err != nil {
		return err
	}
	compl, err := Completions(root)
	if err != nil {
		return err
	}
	if err := sync(manDir, man, isManPage); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	if err := sync(complDir, compl, isCompletion); err != nil {
		return fmt.Errorf("completions: %w", err)
	}
	return nil
}

// RootHelp renders `certctl --help` from the tree, as pkg/fastpath prints
// it before the tree exists (fastpath.HelpFile).
func RootHelp(root *cobra.Command) ([]byte, error) {
	var b bytes.Buffer
	root.SetArgs([]string{"--help"})
	root.SetOut(&b)
	root.SetErr(&b)
	if err := root.Execute(); err != nil {
		return nil, fmt.Errorf("certctl --help: %w", err)
	}
	return b.Bytes(), nil
}

// ManPages renders the man page of every available command of the tree,
// keyed by file name (certctl.1, certctl-list.1, …), using doc.GenManTree.
func ManPages(root *cobra.Command) (map[string][]byte, error) {
	prepare(root)
	tmp, err := os.MkdirTemp("", "certctl-man-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	restore := forMan(root)
	err = doc.GenManTree(root, ManHeader(), tmp)
	restore()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	pages := make(map[string][]byte, len(entries))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(tmp, e.Name()))
		if err != nil {
			return nil, err
		}
		pages[e.Name()] = []byte(fillAfterTitle(restoreAngles.Replace(string(data))))
	}
	return pages, nil
}

// fillAfterTitle moves the .nh (no hyphenation) go-md2man writes before
// the page's .TH to after it, with .ad l (lines filled, not justified):
// the man macros' .TH turns hyphenation back on, so that man(1) broke
// flag names and values across lines (--domain-validation-op‐ tions,
// Export=EN‐ ABLED), which a reader copies from the page (tester), and
// justified lines of long unbreakable words made "cannot adjust line"
// warnings; and .cflags 0 - keeps groff from breaking a line after a
// hyphen a word has (--domain- / validation-options: review).
func fillAfterTitle(page string) string {
	page = strings.TrimPrefix(page, ".nh\n")
	title, rest, ok := strings.Cut(page, "\n")
	if !ok || !strings.HasPrefix(title, ".TH ") {
		return page
	}
	return ".nr HY 0\n.ds AD l\n" + title + "\n.nh\n.ad l\n.cflags 0 -\n" + rest
}

// Completions renders the completion scripts, keyed by file name, with the
// same generators as `certctl completion`.
func Completions(root *cobra.Command) (map[string][]byte, error) {
	prepare(root)
	gens := []struct {
		name string
		gen  func(*bytes.Buffer) error
	}{
		{BashFile, func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) }},
		{ZshFile, func(b *bytes.Buffer) error { return root.GenZshCompletion(b) }},
		{FishFile, func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) }},
		{PowerShellFile, func(b *bytes.Buffer) error { return root.GenPowerShellCompletionWithDesc(b) }},
	}
	out := make(map[string][]byte, len(gens))
	for _, g := range gens {
		var b bytes.Buffer
		if err := g.gen(&b); err != nil {
			return nil, fmt.Errorf("%s: %w", g.name, err)
		}
		out[g.name] = b.Bytes()
	}
	return out, nil
}

// prepare adds cobra's implicit help command and flags up front, as
// Execute would, so that the output does not depend on whether the tree
// was already executed or rendered once.
func prepare(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
}

func isManPage(name string) bool { return strings.HasSuffix(name, ".1") }

func isCompletion(name string) bool {
	return strings.HasPrefix(name, "certctl") || strings.HasPrefix(name, "_certctl")
}

// sync makes dir hold exactly files among the names owned reports true for.
func sync(dir string, files map[string][]byte, owned func(string) bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, keep := files[e.Name()]; keep || !e.Type().IsRegular() || !owned(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		old, err := os.ReadFile(p)
		if err == nil && bytes.Equal(old, files[n]) {
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}
