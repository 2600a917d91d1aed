package dashboard

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/reports"
)

// TestNeedsActionTableBounded: the table shows the 25 most urgent
// certificates and says how many more there are and where to see them
// (scale tester: 4,110 rows on a terminal); 25 or fewer show all, no
// footer.
func TestNeedsActionTableBounded(t *testing.T) {
	s := output.NewStyles(io.Discard, false)
	actions := func(n int) []reports.Action {
		var out []reports.Action
		for i := range n {
			out = append(out, reports.Action{CertificateArn: fmt.Sprintf("arn:certctl:acm:local:000000000000:certificate/%08d-0000-4000-8000-000000000000", i),
				DomainName: fmt.Sprintf("h%d.example.test", i), Reason: reports.ReasonExpired, Detail: "expired 1 day ago"})
		}
		return out
	}
	tb := needsActionTable(s, actions(4110))
	if len(tb.Rows) != 25 || tb.Rows[0][1] != "h0.example.test" || tb.Rows[24][1] != "h24.example.test" {
		t.Fatalf("%d rows, first %v", len(tb.Rows), tb.Rows[0])
	}
	if !strings.Contains(tb.Footer, "and 4085 more") || !strings.Contains(tb.Footer, "certctl dashboard -o json --query 'NeedsAction'") {
		t.Errorf("footer %q", tb.Footer)
	}
	if tb := needsActionTable(s, actions(25)); len(tb.Rows) != 25 || tb.Footer != "" {
		t.Errorf("25 actions: %d rows, footer %q", len(tb.Rows), tb.Footer)
	}
}

// TestFailedDeploymentsEscapeData: the dashboard's cells of data (domain,
// target, reason) show a name's escape sequences escaped, even one equal
// to a sequence of certctl's own styles (which the table writer keeps in
// a cell): an imported name cannot colour itself (tester).
func TestFailedDeploymentsEscapeData(t *testing.T) {
	s := output.NewStyles(io.Discard, true)
	red := s.Bad("X")
	tab := failedDeploymentsTable(s, []reports.FailedDeployment{{CertificateArn: "arn:x/1", DomainName: "evil" + red, Target: "t" + red, Reason: "r\x1b[2J"}})
	row := tab.Rows[0]
	for _, c := range row[1:3] {
		if strings.Contains(c, "\x1b") {
			t.Errorf("cell %q holds a raw escape", c)
		}
	}
	if strings.Contains(row[4], "\x1b[2J") {
		t.Errorf("reason %q holds a raw escape", row[4])
	}
}

// TestNeedsActionEscapeData: the needs-action table's domain and detail
// cells show a name's escape sequences escaped, as the failed deployments'
// do (review: the bounded table's test had replaced that one).
func TestNeedsActionEscapeData(t *testing.T) {
	s := output.NewStyles(io.Discard, true)
	red := s.Bad("X")
	tab := needsActionTable(s, []reports.Action{{CertificateArn: "arn:x/1", DomainName: "evil" + red, Reason: reports.ReasonExpired, Detail: "d\x1b[2J"}})
	if row := tab.Rows[0]; strings.Contains(row[1], "\x1b") || strings.Contains(row[3], "\x1b") {
		t.Errorf("cells %q %q hold a raw escape", row[1], row[3])
	}
}

// TestEndpointsShortIDs: the dashboard names an ACME endpoint by the first
// 8 digits of its ID, as Needs action names certificates (every command
// takes them), not its whole UUID, which overflowed 60 columns (tester).
func TestEndpointsShortIDs(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	ios.SetTTY(true)
	ios.SetTerminalWidth(60)
	p, err := output.New(ios, "table", "")
	if err != nil {
		t.Fatal(err)
	}
	const id = "3cf1699e-0fab-4b28-ae64-dfab582795e4"
	d := Output{AcmeEndpoints: []reports.EndpointIssuance{{AcmeEndpointArn: "arn:certctl:acm:local:000000000000:acme-endpoint/" + id, CertificateIssuanceSuccess: 3}}}
	if err := render(p, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "  3cf1699e  ") || strings.Contains(out.String(), id) {
		t.Fatalf("the endpoints' lines:\n%s", out)
	}
}
