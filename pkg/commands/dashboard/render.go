package dashboard

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/reports"
	"github.com/certctl/certctl/pkg/timeutil"
)

// render draws the dashboard for a person: count boxes side by side (one
// above the other on a narrow terminal), the timeline as bars, and the
// certificates needing action as a table.
func render(p *output.Printer, out Output) error {
	s := p.Styles
	width := p.IO.TerminalWidth()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d\n", s.Bold("Certificates:"), out.Counts.Total)

	boxes := []string{
		box(s, "Status", out.Counts.ByStatus, inventory.Statuses),
		box(s, "Type", out.Counts.ByType, inventory.Types),
		box(s, "Origin", out.Counts.ByKeyPairOrigin, inventory.Origins),
		box(s, "Renewal", out.Counts.ByRenewalEligibility, inventory.Eligibilities),
	}
	row := lipgloss.JoinHorizontal(lipgloss.Top, spaced(boxes)...)
	if lipgloss.Width(row) > width {
		row = lipgloss.JoinVertical(lipgloss.Left,
			lipgloss.JoinHorizontal(lipgloss.Top, spaced(boxes[:2])...),
			lipgloss.JoinHorizontal(lipgloss.Top, spaced(boxes[2:])...))
	}
	if lipgloss.Width(row) > width {
		row = lipgloss.JoinVertical(lipgloss.Left, boxes...)
	}
	b.WriteString(row + "\n\n")

	b.WriteString(s.Bold("Expirations, next 13 weeks") + " " + s.Dim("(ISSUED certificates by NotAfter, UTC)") + "\n")
	b.WriteString(timelineChart(s, out.ExpirationTimeline, width) + "\n")

	if len(out.AcmeEndpoints) > 0 {
		b.WriteString(s.Bold("ACME endpoints") + " " + s.Dim("(certificates issued / failed)") + "\n")
		for _, ep := range out.AcmeEndpoints {
			// Its first 8 digits, as Needs action shows IDs (every
			// command takes them): the whole UUID overflowed 60
			// columns (tester).
			id := output.ShortID(ep.AcmeEndpointArn)
			if len(id) > 8 {
				id = id[:8]
			}
			fmt.Fprintf(&b, "  %s  %s / %s\n", id, s.OK(strconv.FormatInt(ep.CertificateIssuanceSuccess, 10)),
				failedCount(s, ep.CertificateIssuanceFailed))
		}
		b.WriteString("\n")
	}
	if len(out.FailedDeployments) > 0 {
		b.WriteString(s.Bold("Failed deployments") + " " + s.Dim("(retried by `certctl renew --due`)") + "\n")
		if _, err := io.WriteString(p.IO.Out, b.String()); err != nil {
			return err
		}
		b.Reset()
		if err := p.Print(out.FailedDeployments, output.View{Table: func(s *output.Styles) *output.Table {
			return failedDeploymentsTable(s, out.FailedDeployments)
		}}); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	b.WriteString(s.Bold("Needs action") + "\n")
	if _, err := io.WriteString(p.IO.Out, b.String()); err != nil {
		return err
	}
	if len(out.NeedsAction) == 0 {
		_, err := fmt.Fprintln(p.IO.Out, s.OK("Nothing needs action."))
		return err
	}
	return p.Print(out.NeedsAction, output.View{Table: func(s *output.Styles) *output.Table {
		return needsActionTable(s, out.NeedsAction)
	}})
}

// tableActions is how many certificates the table of those that need
// action shows: the most urgent, then how many more there are (a vault
// of thousands expiring printed thousands of lines: scale tester);
// -o json and -o text list them all.
const tableActions = 25

// needsActionTable shows the first tableActions of actions (most urgent
// first) and says how many more there are, and where to see them all.
func needsActionTable(s *output.Styles, actions []reports.Action) *output.Table {
	t := &output.Table{Headers: []string{"CERTIFICATE", "DOMAIN", "REASON", "DETAIL"}}
	for _, a := range actions[:min(len(actions), tableActions)] {
		id := output.ShortID(a.CertificateArn)
		reason := s.Warn(a.Reason)
		if a.Reason == reports.ReasonExpired || a.Reason == reports.ReasonRenewalFailed || a.Reason == reports.ReasonFailed {
			reason = s.Bad(a.Reason)
		}
		t.Rows = append(t.Rows, []string{id, output.Sanitize(a.DomainName), reason, output.Sanitize(a.Detail)})
	}
	if more := len(actions) - tableActions; more > 0 {
		t.Footer = s.Dim(fmt.Sprintf("… and %d more (all of them: certctl dashboard -o json --query 'NeedsAction')", more))
	}
	return t
}

// failedDeploymentsTable lists the failed deploy targets: certificate,
// domain, target, when the last attempt failed (UTC) and why.
func failedDeploymentsTable(s *output.Styles, fs []reports.FailedDeployment) *output.Table {
	t := &output.Table{Headers: []string{"CERTIFICATE", "DOMAIN", "TARGET", "FAILED", "REASON"}}
	for _, f := range fs {
		id := output.ShortID(f.CertificateArn)
		when := s.Dim("unknown")
		if f.FailedAt != nil {
			when = time.Time(*f.FailedAt).UTC().Format("2006-01-02 15:04 UTC")
		}
		t.Rows = append(t.Rows, []string{id, output.Sanitize(f.DomainName), output.Sanitize(f.Target), when, s.Bad(output.Sanitize(f.Reason))})
	}
	return t
}

// box draws one rounded box of counts, zero counts dimmed.
func box(s *output.Styles, title string, m map[string]int, order []string) string {
	ks := keys(m, order)
	nameW, numW := len(title), 1
	for _, k := range ks {
		nameW = max(nameW, len(k))
		numW = max(numW, len(strconv.Itoa(m[k])))
	}
	lines := []string{s.Bold(title)}
	for _, k := range ks {
		n := m[k]
		pad := strings.Repeat(" ", nameW-len(k)+2)
		num := fmt.Sprintf("%*d", numW, n)
		if n == 0 {
			lines = append(lines, s.Dim(k+pad+num))
			continue
		}
		lines = append(lines, s.Status(output.Sanitize(k))+pad+num)
	}
	st := s.Renderer().NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1)
	if s.Color() {
		st = st.BorderForeground(lipgloss.Color("8"))
	}
	return st.Render(strings.Join(lines, "\n"))
}

func spaced(boxes []string) []string {
	out := make([]string, 0, 2*len(boxes))
	for i, bx := range boxes {
		if i > 0 {
			out = append(out, " ")
		}
		out = append(out, bx)
	}
	return out
}

// timelineChart draws a bar a week, scaled to the largest week; weeks that
// start within 30 days are drawn in the warning colour.
func timelineChart(s *output.Styles, weeks []reports.Week, width int) string {
	most := 0
	for _, w := range weeks {
		most = max(most, w.Count)
	}
	numW := len(strconv.Itoa(most))
	const labelW = len("Jan 02 – Jan 09")
	barMax := min(40, max(10, width-labelW-numW-6))
	var first time.Time
	if len(weeks) > 0 {
		first = time.Time(*weeks[0].WeekStart)
	}
	var lines []string
	for _, w := range weeks {
		start, end := time.Time(*w.WeekStart), time.Time(*w.WeekEnd)
		label := start.Format("Jan 02") + " – " + end.Add(-timeutil.Day).Format("Jan 02")
		if w.Count == 0 {
			lines = append(lines, "  "+s.Dim(label)+"  "+s.Dim(fmt.Sprintf("%*d", numW, 0)))
			continue
		}
		n := max(1, (w.Count*barMax+most-1)/most)
		bar := strings.Repeat("█", n)
		if start.Sub(first) < 30*timeutil.Day {
			bar = s.Warn(bar)
		} else {
			bar = s.OK(bar)
		}
		lines = append(lines, "  "+label+"  "+fmt.Sprintf("%*d", numW, w.Count)+" "+bar)
	}
	return strings.Join(lines, "\n")
}

func failedCount(s *output.Styles, n int64) string {
	if n == 0 {
		return s.Dim("0")
	}
	return s.Bad(strconv.FormatInt(n, 10))
}
