package dashboard

import (
	"fmt"
	"io"
	"strings"
	"testing"

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
