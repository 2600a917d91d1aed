package output

import (
	"fmt"
	"io"
	"strings"

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
	r     *lipgloss.Renderer
	ok    lipgloss.Style
	warn  lipgloss.Style
	bad   lipgloss.Style
	dim   lipgloss.Style
	bold  lipgloss.Style
}

// NewStyles builds the styles for w.
func NewStyles(w io.Writer, color bool) *Styles {
	r := lipgloss.NewRenderer(w)
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	return &Styles{
		color: color,
		r:     r,
		ok:    r.NewStyle().Foreground(lipgloss.Color("2")),
		warn:  r.NewStyle().Foreground(lipgloss.Color("3")),
		bad:   r.NewStyle().Foreground(lipgloss.Color("1")),
		dim:   r.NewStyle().Foreground(lipgloss.Color("8")),
		bold:  r.NewStyle().Bold(true),
	}
}

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
// printing it cannot drive the user's terminal.
func Sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (p *Printer) writeTable(t *Table) error {
	if t == nil {
		return nil
	}
	w := p.IO.Out
	if len(t.Headers) == 0 {
		// A key/value listing: aligned, no borders.
		width := 0
		for _, r := range t.Rows {
			if len(r) > 0 && len(r[0]) > width {
				width = len(r[0])
			}
		}
		var b strings.Builder
		for _, r := range t.Rows {
			switch len(r) {
			case 0:
				b.WriteString("\n")
			case 1:
				b.WriteString(Sanitize(r[0]) + "\n")
			default:
				fmt.Fprintf(&b, "%s  %s\n", p.Styles.Bold(fmt.Sprintf("%-*s", width, Sanitize(r[0]))), sanitizeStyled(strings.Join(r[1:], " ")))
			}
		}
		if t.Footer != "" {
			b.WriteString(t.Footer + "\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	tbl := tablewriter.NewTable(w,
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
	headers := make([]any, len(t.Headers))
	for i, h := range t.Headers {
		headers[i] = p.Styles.Bold(h)
	}
	tbl.Header(headers...)
	for _, r := range t.Rows {
		row := make([]any, len(r))
		for i, c := range r {
			row[i] = sanitizeStyled(c)
		}
		if err := tbl.Append(row...); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	if t.Footer != "" {
		_, err := fmt.Fprintln(w, t.Footer)
		return err
	}
	return nil
}

// sanitizeStyled sanitises a cell but keeps the SGR colour sequences this
// package added itself (they start with ESC '[' and end with 'm').
func sanitizeStyled(s string) string {
	if !strings.Contains(s, "\x1b") {
		return Sanitize(s)
	}
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, 0x1b)
		if i < 0 {
			b.WriteString(Sanitize(s))
			break
		}
		b.WriteString(Sanitize(s[:i]))
		s = s[i:]
		j := 2
		for j < len(s) && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';') {
			j++
		}
		if len(s) > 2 && s[1] == '[' && j < len(s) && s[j] == 'm' {
			b.WriteString(s[:j+1])
			s = s[j+1:]
			continue
		}
		b.WriteString(Sanitize(s[:1]))
		s = s[1:]
	}
	return b.String()
}
