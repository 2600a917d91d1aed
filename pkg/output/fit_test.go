package output

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

const (
	arnA = "arn:certctl:acm:local:000000000000:certificate/c0b4d6ab-8300-4f84-a43a-66c9fffc1bcd"
	arnB = "arn:certctl:acm:local:000000000000:certificate/4888524f-c3ef-4ef0-ad77-5b2df72a3ebc"
)

func wideTable(s *Styles) *Table {
	return &Table{
		Headers: []string{"ID", "DOMAIN", "STATUS", "EXPIRES", "RESOURCES"},
		Rows: [][]string{
			{ShortID(arnA), strings.Repeat("long-label.", 6) + "example.test", s.Status("ISSUED"), "in 394 days", arnA + "," + arnB},
			{ShortID(arnB), "app.internal", s.Status("PENDING_VALIDATION"), "", ""},
		},
	}
}

// TestTableFitsTerminal: on a terminal a table is as wide as the terminal
// at most, never wrapped: IDs show as their unique eight-digit prefixes
// (ARNs too), then the widest free text is cut with an ellipsis;
// enumeration words and relative times are kept whole, and so are the
// styles.
func TestTableFitsTerminal(t *testing.T) {
	for _, color := range []bool{false, true} {
		p, out := newPrinter(t, true, color, "table", "")
		p.IO.SetTerminalWidth(80)
		if err := p.Print(nil, View{Table: wideTable}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("colour %v: %d lines, want a header and 2 rows:\n%s", color, len(lines), out.String())
		}
		for _, l := range lines {
			if w := ansi.StringWidth(l); w > 80 {
				t.Errorf("colour %v: line %d columns wide at 80: %q", color, w, l)
			}
		}
		plain := ansi.Strip(out.String())
		for _, want := range []string{"c0b4d6ab  ", "4888524f  ", "c0b4d6ab,4888524f", "long-label.long-…", "PENDING_VALIDATION", "in 394 days"} {
			if !strings.Contains(plain, want) {
				t.Errorf("colour %v: no %q in\n%s", color, want, plain)
			}
		}
		if strings.Contains(plain, "c0b4d6ab-") || strings.Contains(plain, "arn:") {
			t.Errorf("colour %v: an ID not shortened:\n%s", color, plain)
		}
		if color && (!strings.Contains(out.String(), "\x1b[32mISSUED\x1b[0m") || !strings.Contains(out.String(), "\x1b[33mPENDING_VALIDATION\x1b[0m")) {
			t.Errorf("styles lost: %q", out.String())
		}
	}

	// A wide terminal shows the table whole.
	p, out := newPrinter(t, true, false, "table", "")
	p.IO.SetTerminalWidth(400)
	if err := p.Print(nil, View{Table: wideTable}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), ShortID(arnA)+" ") || !strings.Contains(out.String(), arnA+","+arnB) || strings.Contains(out.String(), "…") {
		t.Errorf("a table that fits was changed:\n%s", out.String())
	}

	// A terminal too narrow for any table: cut as far as it goes, one line
	// a row all the same.
	p, out = newPrinter(t, true, false, "table", "")
	p.IO.SetTerminalWidth(20)
	if err := p.Print(nil, View{Table: wideTable}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Errorf("narrow terminal: %d lines, want 3 (no wrapping):\n%s", n, out.String())
	}
}

// TestTableCutsIDListsBeforeWords: a list of several IDs (audit list's
// RESOURCES) keeps its first IDs and ",…" before a word of an enumeration
// (RequestCertificate) is cut.
func TestTableCutsIDListsBeforeWords(t *testing.T) {
	arnC := strings.Replace(arnA, "c0b4d6ab", "d1c5e7bc", 1)
	arnD := strings.Replace(arnA, "c0b4d6ab", "e2d6f8cd", 1)
	table := func(*Styles) *Table {
		return &Table{
			Headers: []string{"TIME", "EVENT", "OUTCOME", "RESOURCES"},
			Rows: [][]string{
				{"now", "ExportCertificate", "SUCCESS", ShortID(arnA)},
				{"now", "FinalizeOrder", "SUCCESS", strings.Join([]string{arnA, arnB, arnC, arnD}, ",")},
			},
		}
	}
	p, out := newPrinter(t, true, false, "table", "")
	p.IO.SetTerminalWidth(62)
	if err := p.Print(nil, View{Table: table}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if w := ansi.StringWidth(l); w > 62 {
			t.Errorf("line %d columns wide at 62: %q", w, l)
		}
	}
	for _, want := range []string{"ExportCertificate", "c0b4d6ab,4888524f,…"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}

// TestTableInPipeKeepsEverything: -o table into a pipe (no terminal) keeps
// today's full output, whatever its width.
func TestTableInPipeKeepsEverything(t *testing.T) {
	p, out := newPrinter(t, false, false, "table", "")
	p.IO.SetTerminalWidth(80)
	if err := p.Print(nil, View{Table: wideTable}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{ShortID(arnA), strings.Repeat("long-label.", 6) + "example.test", arnA + "," + arnB} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}

// TestUniquePrefix: eight digits, more when two IDs share them (never
// ending at the UUID's first hyphen), the whole ID at most.
func TestUniquePrefix(t *testing.T) {
	for _, tc := range []struct {
		ids  []string
		want int
	}{
		{[]string{"c0b4d6ab-8300-4f84-a43a-66c9fffc1bcd", "4888524f-c3ef-4ef0-ad77-5b2df72a3ebc"}, 8},
		{[]string{"c0b4d6ab-8300-4f84-a43a-66c9fffc1bcd", "c0b4d6ab-8311-4f84-a43a-66c9fffc1bcd"}, 12},
		{[]string{"c0b4d6ab-8300-4f84-a43a-66c9fffc1bcd", "c0b4d6ab-9300-4f84-a43a-66c9fffc1bcd"}, 10},
		{[]string{"c0b4d6ab-8300-4f84-a43a-66c9fffc1bcd"}, 8},
	} {
		ids := map[string]bool{}
		for _, id := range tc.ids {
			ids[id] = true
		}
		if got := uniquePrefix(ids); got != tc.want {
			t.Errorf("uniquePrefix(%v) = %d, want %d", tc.ids, got, tc.want)
		}
	}
}

// TestQueryTable: -o table shows a query's list of lists as a table, a
// row per item and a column per value, as the AWS CLI does, not as JSON.
func TestQueryTable(t *testing.T) {
	data := map[string]any{"CertificateSummaryList": []any{
		map[string]any{"DomainName": "a.test", "Status": "ISSUED"},
		map[string]any{"DomainName": "bb.test", "Status": "EXPIRED"},
	}}
	p, out := newPrinter(t, true, false, "table", "CertificateSummaryList[].[DomainName,Status]")
	if err := p.Print(data, View{}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), " a.test   ISSUED\n bb.test  EXPIRED\n"; got != want {
		t.Errorf("list of lists: got %q, want %q", got, want)
	}
	p, out = newPrinter(t, true, false, "table", "CertificateSummaryList[].DomainName")
	if err := p.Print(data, View{}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), " a.test\n bb.test\n"; got != want {
		t.Errorf("list of scalars: got %q, want %q", got, want)
	}
}

// TestQueryTableEscapesStyles: a query's table holds data only: a value
// carrying the very colour sequence certctl's own styles emit is shown
// escaped, not kept as a style (tester: an imported name coloured itself
// as ISSUED is).
func TestQueryTableEscapesStyles(t *testing.T) {
	p, out := newPrinter(t, true, true, "table", "CertificateSummaryList[].DomainName")
	red := p.Styles.Bad("X")
	if !strings.Contains(red, "\x1b[") {
		t.Fatalf("colour is off: %q", red)
	}
	data := map[string]any{"CertificateSummaryList": []any{map[string]any{"DomainName": "evil" + red + ".example.test"}}}
	if err := p.Print(data, View{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\x1b") || !strings.Contains(out.String(), `evil\x1b[`) {
		t.Errorf("query table: %q", out.String())
	}
}

// TestTableKeepsTails: a cell cut to fit keeps what WithTail put after
// its text (list's "+2": two more names; tester: it was cut off with the
// name); in a pipe the cell is whole; the marker never shows; a tail
// wider than the room left ends the fitting instead of looping.
func TestTableKeepsTails(t *testing.T) {
	table := func(tail string) func(s *Styles) *Table {
		return func(s *Styles) *Table {
			return &Table{Headers: []string{"ID", "DOMAIN", "STATUS"}, Rows: [][]string{
				{"c0b4d6ab", WithTail(strings.Repeat("long-label.", 8)+"example.test", s.Dim(tail)), "ISSUED"},
			}}
		}
	}
	for _, tty := range []bool{true, false} {
		p, out := newPrinter(t, tty, true, "table", "")
		p.IO.SetTerminalWidth(60)
		if err := p.Print(nil, View{Table: table(" +2")}); err != nil {
			t.Fatal(err)
		}
		plain := ansi.Strip(out.String())
		if strings.Contains(out.String(), tailMark) {
			t.Errorf("tty %v: the marker shows: %q", tty, out.String())
		}
		want := strings.Repeat("long-label.", 8) + "example.test +2"
		if tty {
			want = "… +2"
		}
		if !strings.Contains(plain, want) {
			t.Errorf("tty %v: no %q in\n%s", tty, want, plain)
		}
	}
	p, out := newPrinter(t, true, false, "table", "")
	p.IO.SetTerminalWidth(20)
	if err := p.Print(nil, View{Table: table(strings.Repeat(" +2", 20))}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ISSUED") {
		t.Errorf("a wide tail: %q", out.String())
	}
}

// TestTableLeavesOutOptionalColumns (tester): a terminal too narrow for a
// table leaves out its optional columns, first to last, as far as needed
// for the rest to show with their free text cut to half at most, rather
// than cutting every column short; a terminal wide enough keeps them all,
// and a pipe keeps everything.
func TestTableLeavesOutOptionalColumns(t *testing.T) {
	table := func(s *Styles) *Table {
		return &Table{
			Headers:  []string{"ID", "DOMAIN", "STATUS", "TYPE", "KEY", "EXPIRES", "IN USE"},
			Optional: []string{"TYPE", "IN USE", "KEY"},
			Rows: [][]string{
				{ShortID(arnA), "www.shop.example.test", "ISSUED", "PRIVATE", "EC_prime256v1", "in 394 days", "no"},
				{ShortID(arnB), "app.example.test", "ISSUED", "IMPORTED", "RSA_2048", "in 12 days", "yes"},
			},
		}
	}
	for _, tc := range []struct {
		width     int
		tty       bool
		kept, out []string
	}{
		{120, true, []string{"TYPE", "IN USE", "KEY", "www.shop.example.test"}, nil},
		{60, true, []string{"KEY", "EC_prime256v1", "in 394 days", "www.shop.exa"}, []string{"TYPE", "IN USE", "PRIVATE"}},
		{40, true, []string{"DOMAIN", "STATUS", "EXPIRES"}, []string{"TYPE", "IN USE", "KEY"}},
		{40, false, []string{"TYPE", "IN USE", "KEY", "www.shop.example.test"}, nil},
	} {
		p, out := newPrinter(t, tc.tty, false, "table", "")
		p.IO.SetTerminalWidth(tc.width)
		if err := p.Print(nil, View{Table: table}); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.kept {
			if !strings.Contains(out.String(), w) {
				t.Errorf("width %d (terminal %v): no %q in\n%s", tc.width, tc.tty, w, out)
			}
		}
		for _, w := range tc.out {
			if strings.Contains(out.String(), w) {
				t.Errorf("width %d (terminal %v): %q not left out of\n%s", tc.width, tc.tty, w, out)
			}
		}
		if lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); len(lines) != 3 || tc.tty && tc.width == 60 && ansi.StringWidth(lines[1]) > 60 {
			t.Errorf("width %d: %q", tc.width, out)
		}
	}
}

// A URL (endpoint list's ACME directory, which a user gives certbot
// --server) is never cut: free text is cut, and optional columns are left
// out, first (tester: the URL was cut at every common width); a terminal
// too narrow for the rest sees the row wrap, the URL still whole to copy.
func TestTableKeepsURLsWhole(t *testing.T) {
	const dir = "https://127.0.0.1:8443/3cf1699e-0fab-4b28-ae64-dfab582795e4/directory"
	table := func(s *Styles) *Table {
		return &Table{
			Headers:  []string{"ID", "NAME", "STATUS", "CONTACT", "ISSUED", "URL"},
			Optional: []string{"CONTACT", "ISSUED"},
			Rows: [][]string{
				{ShortID(arnA), "team payments endpoint", "ACTIVE", "ops@example.test", "12", dir},
			},
		}
	}
	for _, width := range []int{60, 80, 100, 120} {
		p, out := newPrinter(t, true, false, "table", "")
		p.IO.SetTerminalWidth(width)
		if err := p.Print(nil, View{Table: table}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), dir) || !strings.Contains(out.String(), "ACTIVE") {
			t.Errorf("width %d: the URL is cut:\n%s", width, out)
		}
		if width >= 100 {
			assertFits(t, fmt.Sprint("URL table at ", width), out.String(), width)
		}
		if width == 100 && (strings.Contains(out.String(), "CONTACT") || !strings.Contains(out.String(), "team pay")) {
			t.Errorf("width %d: CONTACT not left out first:\n%s", width, out)
		}
	}
}

// assertFits fails t if a line of out is wider than width columns (its
// styles not counted, its runes counted one a column, as a terminal shows
// them).
func assertFits(t *testing.T, what, out string, width int) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if w := ansi.StringWidth(l); w > width || utf8.RuneCountInString(ansi.Strip(l)) > width {
			t.Errorf("%s: a line %d columns wide at %d: %q\n%s", what, w, width, l, out)
		}
	}
}

// TestListTablesFitTerminal (tester): the tables of ca list, endpoint list
// and audit list, as those commands build them, fit terminals of 60 to 90
// columns: optional columns are left out with their kept columns counted
// whole (ca list kept TYPE, cut it to "SUBORDI…" and was still about five
// columns too wide below 100), timestamps lose their seconds, then their
// time, before a kept column is cut (a URL never is: endpoint list fits
// from 100 columns, its URL whole), and a list of IDs no longer overflows
// audit list at 60.
func TestListTablesFitTerminal(t *testing.T) {
	caList := func(s *Styles) *Table {
		return &Table{
			Headers:  []string{"ID", "TYPE", "STATUS", "COMMON NAME", "KEY", "NOT AFTER"},
			Optional: []string{"KEY", "TYPE"},
			Keep:     []string{"COMMON NAME"},
			Rows: [][]string{
				{"77f4a5d5-06bd-4035-82f7-67715215acd6", "ROOT", s.Status("ACTIVE"), "Example Corp Root CA 2025", "EC_prime256v1", "2036-12-04T16:44:20Z"},
				{"98b69914-9887-4d59-b5d0-37ebfd77cb6f", "SUBORDINATE", s.Status("ACTIVE"), "Example Corp Issuing CA 2025", "EC_prime256v1", "2031-12-06T16:44:20Z"},
			},
		}
	}
	endpointList := func(s *Styles) *Table {
		return &Table{
			Headers:  []string{"ID", "NAME", "STATUS", "CONTACT", "ISSUED", "FAILED", "URL"},
			Optional: []string{"CONTACT", "FAILED", "ISSUED"},
			Rows: [][]string{
				{"5800764c-8551-48fe-b0e7-4d53224fe852", "e1", s.Status("ACTIVE"), "NOT_REQUIRED", "0", "0",
					"https://127.0.0.1:8443/5800764c-8551-48fe-b0e7-4d53224fe852/directory"},
			},
		}
	}
	const ca1 = "arn:certctl:acm-pca:local:000000000000:certificate-authority/802d40b3-06bd-4035-82f7-67715215acd6"
	const ca2 = "arn:certctl:acm-pca:local:000000000000:certificate-authority/57aa134c-9887-4d59-b5d0-37ebfd77cb6f"
	auditList := func(s *Styles) *Table {
		return &Table{
			Headers: []string{"TIME", "EVENT", "ACTOR", "OUTCOME", "RESOURCES"},
			Rows: [][]string{
				{"2026-12-07T16:43:51Z", "CreateCertificateAuthority", "USER root" + s.Dim(""), s.Status("SUCCESS"), ca1},
				{"2026-12-07T16:43:53Z", "CreateCertificateAuthority", "USER root" + s.Dim(""), s.Status("SUCCESS"), ca2 + "," + ca1},
			},
		}
	}
	for _, tc := range []struct {
		name  string
		table func(*Styles) *Table
		want  map[int][]string // what each width shows
		never []string
	}{
		{"ca list", caList, map[int][]string{
			60: {"Example Corp Issuing CA 2025", "2031-12-06"},
			70: {"Example Corp Issuing CA 2025", "2031-12-06T16:44:20Z"},
			80: {"Example Corp Issuing CA 2025", "2031-12-06T16:44:20Z"},
			90: {"SUBORDINATE", "Example Corp Issuing CA 2025", "2031-12-06T16:44:20Z"},
		}, []string{"SUBORDI…", "EC_prim"}},
		{"endpoint list", endpointList, map[int][]string{
			100: {"5800764c", "e1", "ACTIVE", "https://127.0.0.1:8443/5800764c-8551-48fe-b0e7-4d53224fe852/directory"},
		}, nil},
		{"audit list", auditList, map[int][]string{
			60: {"2026-12-07T16:43Z", "802d40b3", "57aa134c,…"},
			80: {"CreateCertificateAuthority"},
		}, nil},
	} {
		for width, want := range tc.want {
			for _, color := range []bool{false, true} {
				p, out := newPrinter(t, true, color, "table", "")
				p.IO.SetTerminalWidth(width)
				if err := p.Print(nil, View{Table: tc.table}); err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("%s at %d (colour %v)", tc.name, width, color)
				assertFits(t, what, out.String(), width)
				plain := ansi.Strip(out.String())
				for _, w := range want {
					if !strings.Contains(plain, w) {
						t.Errorf("%s: no %q in\n%s", what, w, plain)
					}
				}
				for _, w := range tc.never {
					if strings.Contains(plain, w) {
						t.Errorf("%s: %q in\n%s", what, w, plain)
					}
				}
			}
		}
	}
}

// A column a table keeps (Keep) is not cut on a narrow terminal while
// anything else can be: a setting's key that config get|set take back,
// the name that tells two rows apart; the other free text is cut instead
// (tester: config list cut its keys at 60 columns while VALUE kept its
// width). Only a terminal the table cannot fit otherwise sees it cut, the
// table no wider than the terminal.
func TestTableKeepsKeptColumns(t *testing.T) {
	const key = "validation.a_setting_with_a_long_name_for_this_test"
	table := func(s *Styles) *Table {
		return &Table{Headers: []string{"KEY", "VALUE", "SOURCE"}, Keep: []string{"KEY"},
			Rows: [][]string{{key, "a value long enough to be cut", "default"}}}
	}
	for _, width := range []int{72, 60} {
		p, out := newPrinter(t, true, false, "table", "")
		p.IO.SetTerminalWidth(width)
		if err := p.Print(nil, View{Table: table}); err != nil {
			t.Fatal(err)
		}
		assertFits(t, fmt.Sprint("kept column at ", width), out.String(), width)
		if width == 72 && (!strings.Contains(out.String(), key) || !strings.Contains(out.String(), "a value") || !strings.Contains(out.String(), "…")) {
			t.Errorf("width %d: the kept column is cut, or nothing else is:\n%s", width, out)
		}
		if width == 60 && (!strings.Contains(out.String(), "a value…") || !strings.Contains(out.String(), "default") || !strings.Contains(out.String(), key[:30])) {
			t.Errorf("width %d: the kept column cut before the others, or too far:\n%s", width, out)
		}
	}
}

// A timestamp is never cut with an ellipsis on a narrow terminal: cut, it
// reads as nothing ("2026-12…"); the free text and the words beside it are
// cut instead (tester: audit list's TIME and ca list's NOT AFTER at 60
// columns), and only a table that would still not fit shows it without
// its seconds, then as its date.
func TestTableKeepsTimestampsWhole(t *testing.T) {
	const at = "2026-12-07T06:05:31Z"
	table := func(s *Styles) *Table {
		return &Table{Headers: []string{"TIME", "EVENT", "ACTOR", "OUTCOME", "RESOURCES"},
			Rows: [][]string{{at, "RequestCertificate", "USER root@a-host-with-a-long-name", "SUCCESS", "0d1335f9"}}}
	}
	for width, want := range map[int]string{66: at, 60: "2026-12-07T06:05Z  Request…", 54: "2026-12-07  Request…"} {
		p, out := newPrinter(t, true, false, "table", "")
		p.IO.SetTerminalWidth(width)
		if err := p.Print(nil, View{Table: table}); err != nil {
			t.Fatal(err)
		}
		assertFits(t, fmt.Sprint("timestamps at ", width), out.String(), width)
		if !strings.Contains(out.String(), want) || strings.Contains(out.String(), "2026-12-07T06:05…") {
			t.Errorf("width %d: no %q:\n%s", width, want, out)
		}
	}
}

// A key/value listing aligns its values after its keys, but a key wider
// than maxKeyWidth (describe's "Validation <a long name>") is on a line of
// its own with its value under the others: the other values stay where
// they were (tester: every value started at column 182).
func TestKeyValueListingLongKey(t *testing.T) {
	long := "Validation " + strings.Repeat("b", 50) + ".example.com"
	p, out := newPrinter(t, false, false, "table", "")
	err := p.Print(nil, View{Table: func(*Styles) *Table {
		return &Table{Rows: [][]string{{"ARN", arnA}, {"Status", "ISSUED"}, {long, "SUCCESS DNS"}, {"Validation a.test", "SUCCESS DNS"}}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := "ARN                " + arnA + "\n" +
		"Status             ISSUED\n" +
		long + "\n" +
		"                   SUCCESS DNS\n" +
		"Validation a.test  SUCCESS DNS\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// A table printed to a pipe (-o table) has no padding at the end of its
// lines, as at a terminal (tester: trailing spaces in a pipe).
func TestTableInPipeHasNoTrailingSpaces(t *testing.T) {
	p, out := newPrinter(t, false, false, "table", "")
	if err := p.Print(nil, View{Table: wideTable}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasSuffix(l, " ") {
			t.Errorf("line %q ends with a space", l)
		}
	}
}
