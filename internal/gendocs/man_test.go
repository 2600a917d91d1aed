package gendocs

import (
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// placeholder is a <...> of a help text: a word go-md2man took for an
// HTML tag and dropped.
var placeholder = regexp.MustCompile(`<[^<>\s]*>?`)

// TestManPagesKeepHelpText: every <...> of a command's usage line, long
// help, example and flag usages is in its man page, and a long help's
// EXIT STATUS is a section of the page, not a line of DESCRIPTION.
func TestManPagesKeepHelpText(t *testing.T) {
	tree := Tree()
	pages, err := ManPages(tree)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range commands(tree) {
		if !c.IsAvailableCommand() && c.HasParent() {
			continue
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		page, ok := pages[name]
		if !ok {
			t.Errorf("%s: no man page", name)
			continue
		}
		texts := []string{c.Use, c.Long, c.Example}
		visit := func(fl *pflag.Flag) {
			if !fl.Hidden {
				texts = append(texts, fl.Usage)
			}
		}
		c.LocalFlags().VisitAll(visit)
		c.InheritedFlags().VisitAll(visit)
		for _, text := range texts {
			for _, p := range placeholder.FindAllString(text, -1) {
				checked++
				if !strings.Contains(string(page), p) {
					t.Errorf("%s lost %q of the help", name, p)
				}
			}
		}
		if strings.Contains(c.Long, "\nEXIT STATUS\n") && !strings.Contains(string(page), "\n.SH EXIT STATUS\n") {
			t.Errorf("%s: EXIT STATUS is not a section", name)
		}
	}
	if checked < 20 {
		t.Errorf("checked %d placeholders, want the ~20 of the help texts", checked)
	}
	// The tree renders help and completions after the man pages: they
	// must see the texts unchanged.
	if c, _, _ := tree.Find([]string{"search"}); !strings.Contains(c.Long, "expires<D") || strings.Contains(c.Long, "```") {
		t.Errorf("rendering the man pages changed the search help: %q", c.Long)
	}
}

// TestManPagesDoNotHyphenate: each page turns hyphenation off after its
// .TH (whose macros turn it back on) and for its paragraphs (HY 0), with
// lines filled, not justified (AD l): man(1) broke flag names and values
// across lines (--domain-validation-op‐ tions), which a reader copies
// from the page (tester).
func TestManPagesDoNotHyphenate(t *testing.T) {
	pages, err := ManPages(Tree())
	if err != nil {
		t.Fatal(err)
	}
	head := regexp.MustCompile(`\A\.nr HY 0\n\.ds AD l\n\.TH [^\n]*\n\.nh\n\.ad l\n\.cflags 0 -\n`)
	for name, page := range pages {
		if !head.Match(page) {
			t.Errorf("%s begins %q", name, string(page[:min(len(page), 80)]))
		}
		if strings.Count(string(page), ".nh\n") != 1 {
			t.Errorf("%s: %d .nh lines", name, strings.Count(string(page), ".nh\n"))
		}
	}
	if len(pages) < 50 {
		t.Errorf("only %d pages", len(pages))
	}
}
