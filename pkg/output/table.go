package output

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Styles are the semantic styles of certctl's output. With colour off every
// style renders plain text.
type Styles struct {
	color bool
	// own are the escape sequences these styles emit: the only ones a
	// table cell may carry through (see sanitizeStyled).
	own  map[string]bool
	r    *lipgloss.Renderer
	ok   lipgloss.Style
	warn lipgloss.Style
	bad  lipgloss.Style
	dim  lipgloss.Style
	bold lipgloss.Style
}

// NewStyles builds the styles for w.
func NewStyles(w io.Writer, color bool) *Styles {
	r := lipgloss.NewRenderer(w)
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	s := &Styles{
		color: color,
		own:   map[string]bool{},
		r:     r,
		ok:    r.NewStyle().Foreground(lipgloss.Color("2")),
		warn:  r.NewStyle().Foreground(lipgloss.Color("3")),
		bad:   r.NewStyle().Foreground(lipgloss.Color("1")),
		dim:   r.NewStyle().Foreground(lipgloss.Color("8")),
		bold:  r.NewStyle().Bold(true),
	}
	if color {
		for _, st := range []lipgloss.Style{s.ok, s.warn, s.bad, s.dim, s.bold} {
			for _, seq := range sgrPattern().FindAllString(st.Render("x"), -1) {
				s.own[seq] = true
			}
		}
	}
	return s
}

// sgrPattern matches an SGR (colour and attribute) escape sequence.
var sgrPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("\x1b\\[[0-9;]*m") }) // compiled on first use, not at start-up

// Renderer is the lipgloss renderer bound to the output stream.
func (s *Styles) Renderer() *lipgloss.Renderer { return s.r }

// Color reports whether colour is on.
func (s *Styles) Color() bool { return s.color }

// OK styles a healthy value (ISSUED, SUCCESS, ACTIVE).
func (s *Styles) OK(t string) string { return s.render(s.ok, t) }

// Warn styles a value needing attention (PENDING_*, expiring soon).
func (s *Styles) Warn(t string) string { return s.render(s.warn, t) }

// Bad styles a failed or dead value (FAILED, EXPIRED, REVOKED).
func (s *Styles) Bad(t string) string { return s.render(s.bad, t) }

// Dim styles secondary text.
func (s *Styles) Dim(t string) string { return s.render(s.dim, t) }

// Bold styles a heading.
func (s *Styles) Bold(t string) string { return s.render(s.bold, t) }

func (s *Styles) render(st lipgloss.Style, t string) string {
	if !s.color || t == "" {
		return t
	}
	return st.Render(t)
}

// Status styles a status word by its meaning.
func (s *Styles) Status(status string) string {
	switch status {
	case "ISSUED", "SUCCESS", "ACTIVE", "VALID", "ELIGIBLE", "RENEWED":
		return s.OK(status)
	case "PENDING_VALIDATION", "PENDING_AUTO_RENEWAL", "PENDING", "PENDING_CERTIFICATE", "INACTIVE", "DISABLED", "CREATING", "NOT_DUE":
		return s.Warn(status)
	case "EXPIRED", "REVOKED", "FAILED", "VALIDATION_TIMED_OUT", "DELETED":
		return s.Bad(status)
	}
	return status
}

// Sanitize neutralises terminal control sequences in text that came from
// outside (subjects, SANs and tag values of imported certificates), so that
// printing it cannot drive the user's terminal: C0 and C1 controls, DEL and
// bytes that are not UTF-8 (a lone 0x9b is CSI to some terminals) become
// \xNN, and the bidirectional controls that can reorder what is shown
// become \uNNNN. Everything else is kept.
func Sanitize(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unsafeRune(r) && r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		case unsafeRune(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isClean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unsafeRune(r) {
			return false
		}
	}
	return true
}

// unsafeRune reports whether r may change what a terminal does or shows.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// maxKeyWidth is the widest key of a key/value listing its values are
// aligned after; a wider key is on a line of its own.
const maxKeyWidth = 32

func (p *Printer) writeTable(t *Table) error {
	if t == nil {
		return nil
	}
	w := p.IO.Out
	if len(t.Headers) == 0 && !t.grid {
		// A key/value listing: aligned, no borders.
		// A key may carry the styles' own colour (audit verify's "The
		// audit chain is whole:"): kept, as in values, and padded by
		// the width it shows.
		// A key wider than maxKeyWidth (describe's "Validation <name>"
		// of a long name) is on a line of its own, its value on the next
		// under the others: it does not push every value of the listing
		// to the right (tester: ARN and Status at column 182).
		width := 0
		for _, r := range t.Rows {
			if len(r) > 0 {
				if kw := lipgloss.Width(p.Styles.sanitizeStyled(r[0])); kw <= maxKeyWidth {
					width = max(width, kw)
				}
			}
		}
		var b strings.Builder
		for _, r := range t.Rows {
			switch len(r) {
			case 0:
				b.WriteString("\n")
			case 1:
				b.WriteString(p.Styles.sanitizeStyled(r[0]) + "\n")
			default:
				key := p.Styles.sanitizeStyled(r[0])
				value := p.Styles.sanitizeStyled(strings.Join(r[1:], " "))
				if kw := lipgloss.Width(key); kw > width {
					fmt.Fprintf(&b, "%s\n%s  %s\n", p.Styles.Bold(key), strings.Repeat(" ", width), value)
					continue
				}
				pad := strings.Repeat(" ", width-lipgloss.Width(key))
				fmt.Fprintf(&b, "%s  %s\n", p.Styles.Bold(key+pad), value)
			}
		}
		if t.Footer != "" {
			b.WriteString(t.Footer + "\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	// The table is rendered into memory and written at once: tablewriter
	// drops its writer's errors, and a table written to a full disk or a
	// closed file must fail the command like every other format.
	var b strings.Builder
	tbl := tablewriter.NewTable(&b,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
	ncols := len(t.Headers)
	for _, r := range t.Rows {
		ncols = max(ncols, len(r))
	}
	rows := make([][]string, len(t.Rows))
	var tails [][]string // what WithTail keeps of a cell cut short
	for i, r := range t.Rows {
		rows[i] = make([]string, ncols)
		for j, c := range r {
			head, tail, ok := strings.Cut(c, tailMark)
			rows[i][j] = p.Styles.sanitizeStyled(head)
			if ok {
				if tails == nil {
					tails = make([][]string, len(t.Rows))
				}
				if tails[i] == nil {
					tails[i] = make([]string, ncols)
				}
				tails[i][j] = p.Styles.sanitizeStyled(tail)
			}
		}
	}
	if p.IO.IsStdoutTTY() {
		// On a terminal a row is one line of the terminal; in a pipe (-o
		// table on purpose) the table keeps every character.
		headers, r, tl := dropOptional(t.Headers, t.Optional, t.Keep, rows, tails, p.IO.TerminalWidth())
		rows, tails = r, tl
		keep := t.Keep
		t = &Table{Headers: headers, Rows: t.Rows, Footer: t.Footer, grid: t.grid}
		fitTable(t.Headers, rows, tails, p.IO.TerminalWidth(), keep...)
	}
	for i := range tails {
		for j, tail := range tails[i] {
			rows[i][j] += tail
		}
	}
	if len(t.Headers) > 0 {
		headers := make([]any, len(t.Headers))
		for i, h := range t.Headers {
			headers[i] = p.Styles.Bold(h)
		}
		tbl.Header(headers...)
	}
	for _, r := range rows {
		row := make([]any, len(r))
		for i, c := range r {
			row[i] = c
		}
		if err := tbl.Append(row...); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	// The last cell's padding would take a column of the terminal
	// for nothing (fitTable counts on its removal), and is noise at
	// the end of each line in a pipe (-o table; tester).
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	b.Reset()
	b.WriteString(strings.Join(lines, "\n"))
	if t.Footer != "" {
		b.WriteString(t.Footer + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sanitizeStyled sanitises a cell but keeps the escape sequences these
// styles emit themselves (and only those: a cell's outside text may hold SGR
// sequences too, such as conceal or blink, and those are neutralised). With
// colour off no sequence is kept.
func (s *Styles) sanitizeStyled(text string) string {
	if !strings.Contains(text, "\x1b") || len(s.own) == 0 {
		return Sanitize(text)
	}
	var b strings.Builder
	for len(text) > 0 {
		loc := sgrPattern().FindStringIndex(text)
		for loc != nil && !s.own[text[loc[0]:loc[1]]] {
			// Not ours: escape up to and including its ESC, look further.
			next := sgrPattern().FindStringIndex(text[loc[0]+1:])
			if next == nil {
				loc = nil
				break
			}
			loc = []int{loc[0] + 1 + next[0], loc[0] + 1 + next[1]}
		}
		if loc == nil {
			b.WriteString(Sanitize(text))
			break
		}
		b.WriteString(Sanitize(text[:loc[0]]))
		b.WriteString(text[loc[0]:loc[1]])
		text = text[loc[1]:]
	}
	return b.String()
}
