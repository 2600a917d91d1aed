package gendocs

import (
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// go-md2man reads a command's help as Markdown, where `<word>` is an HTML
// tag and is dropped: `expires<D` became `expiresD`, `template/<Name>/V1`
// became `template//V1`. Angle brackets are therefore replaced by these
// tokens, which Markdown leaves alone, before the conversion, and put back
// in the roff it gives (where < and > are ordinary characters). Escaping
// them as \< would show the backslash inside code blocks.
const (
	ltToken = "CERTCTLLESSTHANTOKEN"
	gtToken = "CERTCTLGREATERTHANTOKEN"
)

var (
	hideAngles    = strings.NewReplacer("<", ltToken, ">", gtToken)
	restoreAngles = strings.NewReplacer(ltToken, "<", gtToken, ">")
)

// heading is a line of a long help that titles a section: capitals,
// digits and spaces only (EXIT STATUS, GETTING STARTED, A TOUR).
var heading = regexp.MustCompile(`^[A-Z][A-Z0-9 ]*[A-Z]$`)

// manMarkdown is a command's long help as Markdown for go-md2man: a
// heading line after a blank line (EXIT STATUS) becomes a man section of
// its own rather than a line of the DESCRIPTION paragraph, and a run of
// indented lines (a table of exit codes, an example command) a literal
// block, which keeps its lines and their alignment instead of being
// filled into one line.
func manMarkdown(long string) string {
	lines := strings.Split(long, "\n")
	var b strings.Builder
	inBlock := false
	for i, l := range lines {
		indented := strings.HasPrefix(l, "  ") && strings.TrimSpace(l) != ""
		if inBlock && !indented {
			b.WriteString("```\n")
			inBlock = false
		}
		switch {
		case heading.MatchString(l) && (i == 0 || strings.TrimSpace(lines[i-1]) == ""):
			b.WriteString("# " + l + "\n")
			continue
		case indented && !inBlock:
			if i > 0 && strings.TrimSpace(lines[i-1]) != "" && !heading.MatchString(lines[i-1]) {
				b.WriteString("\n")
			}
			b.WriteString("```\n")
			inBlock = true
		}
		b.WriteString(l + "\n")
	}
	if inBlock {
		b.WriteString("```\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// forMan rewrites the texts of every command of the tree for go-md2man
// (see manMarkdown, ltToken) and returns the function that restores them:
// the tree also renders help and completions, which must not see this.
func forMan(root *cobra.Command) (restore func()) {
	var undo []func()
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		use, short, long, example := c.Use, c.Short, c.Long, c.Example
		undo = append(undo, func() { c.Use, c.Short, c.Long, c.Example = use, short, long, example })
		c.Use = hideAngles.Replace(c.Use)
		c.Short = hideAngles.Replace(c.Short)
		c.Long = hideAngles.Replace(manMarkdown(c.Long))
		c.Example = hideAngles.Replace(c.Example)
		flags := func(fs *pflag.FlagSet) {
			fs.VisitAll(func(fl *pflag.Flag) {
				usage := fl.Usage
				undo = append(undo, func() { fl.Usage = usage })
				fl.Usage = hideAngles.Replace(fl.Usage)
			})
		}
		flags(c.LocalFlags())
		flags(c.InheritedFlags())
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(root)
	return func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
}
