package dashboard

import (
	"io"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/reports"
)

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
