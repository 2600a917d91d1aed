package output

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

func newPrinter(t *testing.T, tty, color bool, format, query string) (*Printer, *bytes.Buffer) {
	t.Helper()
	io, _, out, _ := iostreams.Test()
	io.SetTTY(tty)
	io.SetColorEnabled(color)
	p, err := New(io, format, query)
	if err != nil {
		t.Fatalf("New(%q, %q): %v", format, query, err)
	}
	return p, out
}

func TestNewFormatSelection(t *testing.T) {
	for _, tc := range []struct {
		tty    bool
		format string
		want   string
	}{
		{false, "", "json"},
		{true, "", "table"},
		{true, "json", "json"},
		{false, "table", "table"},
		{false, "yaml", "yaml"},
		{true, "text", "text"},
	} {
		p, _ := newPrinter(t, tc.tty, false, tc.format, "")
		if p.Format != tc.want {
			t.Errorf("tty=%v format=%q: got %q, want %q", tc.tty, tc.format, p.Format, tc.want)
		}
		if !p.Wants(tc.want) {
			t.Errorf("Wants(%q) = false", tc.want)
		}
	}
}

func TestNewRejectsBadFormatAndQuery(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	_, err := New(io, "xml", "")
	if err == nil || !strings.Contains(err.Error(), `unknown output format "xml" (use one of table, json, yaml, text)`) {
		t.Errorf("format xml: %v", err)
	}
	_, err = New(io, "json", "Items[.")
	if err == nil || !strings.Contains(err.Error(), "invalid --query") {
		t.Errorf("bad query: %v", err)
	}
	// go-jmespath's lexer panics on this one (found by FuzzLegacyLiterals).
	_, err = New(io, "json", "A\u0080")
	if err == nil || !strings.Contains(err.Error(), "invalid --query") {
		t.Errorf("query the JMESPath lexer panics on: %v", err)
	}
	for _, f := range Formats {
		if !ValidFormat(f) {
			t.Errorf("ValidFormat(%q) = false", f)
		}
	}
	if ValidFormat("JSON") || ValidFormat("") {
		t.Error("ValidFormat accepts JSON or empty")
	}
}

type item struct {
	Name  string `json:"Name"`
	Count int    `json:"Count"`
	Tags  []string
}

type listOut struct {
	Items     []item  `json:"Items"`
	NextToken *string `json:"NextToken"`
}

var sample = listOut{Items: []item{{Name: "b", Count: 2, Tags: []string{"x"}}, {Name: "a", Count: 10}}}

func TestPrintJSONKeepsFieldOrder(t *testing.T) {
	p, out := newPrinter(t, false, false, "json", "")
	if err := p.Print(struct {
		Z string `json:"Z"`
		A string `json:"A"`
	}{"z", "a"}, View{}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "{\n    \"Z\": \"z\",\n    \"A\": \"a\"\n}\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPrintQuery(t *testing.T) {
	p, out := newPrinter(t, false, false, "json", "Items[].Name")
	if err := p.Print(sample, View{}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "[\n    \"b\",\n    \"a\"\n]\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	// A query is applied before a text view: the view is not used.
	p, out = newPrinter(t, false, false, "text", "Items[?Count > `5`].Name")
	used := false
	if err := p.Print(sample, View{Records: func() [][]string { used = true; return nil }}); err != nil {
		t.Fatal(err)
	}
	if used || out.String() != "a\n" {
		t.Errorf("view used %v, output %q", used, out.String())
	}

	// A query whose evaluation fails is an error, not a panic.
	p, _ = newPrinter(t, false, false, "json", "abs(Items)")
	if err := p.Print(sample, View{}); err == nil {
		t.Error("abs(list) did not fail")
	}
}

func TestPrintTextScalarKeepsLines(t *testing.T) {
	pem := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	p, out := newPrinter(t, false, false, "text", "Certificate")
	if err := p.Print(map[string]string{"Certificate": pem}, View{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != pem {
		t.Errorf("got %q", out.String())
	}
	p, out = newPrinter(t, false, false, "text", "NotAfter")
	if err := p.Print(map[string]string{"NotAfter": "2030-01-01T00:00:00Z"}, View{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "2030-01-01T00:00:00Z\n" {
		t.Errorf("got %q", out.String())
	}
}

func TestGenericRecords(t *testing.T) {
	p, out := newPrinter(t, false, false, "text", "")
	if err := p.Print(sample, View{}); err != nil {
		t.Fatal(err)
	}
	// An object holding one list: a line per item, scalar fields in key
	// order (Count, Name), nested lists (Tags) left out, null NextToken too.
	want := "2\tb\n10\ta\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	for _, tc := range []struct {
		in   any
		want [][]string
	}{
		// A null result prints None, as the AWS CLI prints it.
		{nil, [][]string{{"None"}}},
		{[]any{}, nil},
		{"x", [][]string{{"x"}}},
		// The AWS CLI's text rules: a list of scalars is one line...
		{[]any{"a", true, nil, 2.0}, [][]string{{"a", "true", "None", "2"}}},
		{[]any{[]any{"a", nil}}, [][]string{{"a", "None"}}},
		// A null field of an object prints None, and keeps its column
		// when every object has it null; a field an object lacks is empty.
		{[]any{map[string]any{"A": "x", "B": nil}, map[string]any{"A": nil, "B": "y"}}, [][]string{{"x", "None"}, {"None", "y"}}},
		{[]any{map[string]any{"A": "x", "B": nil, "C": "z"}}, [][]string{{"x", "None", "z"}}},
		{[]any{map[string]any{"A": "x"}, map[string]any{"A": "y", "B": "b"}}, [][]string{{"x", ""}, {"y", "b"}}},
		// ...a list of lists a line per inner list...
		{[]any{[]any{"a", "ISSUED"}, []any{"b", "EXPIRED"}}, [][]string{{"a", "ISSUED"}, {"b", "EXPIRED"}}},
		// ...scalars beside lists a line of their own, first...
		{[]any{[]any{"x", "y"}, "s", []any{[]any{"p"}, []any{"q"}}}, [][]string{{"s"}, {"x", "y"}, {"p"}, {"q"}}},
		// ...an object its scalars in key order, then its lists.
		{map[string]any{"b": "2", "a": "1"}, [][]string{{"1", "2"}}},
		{map[string]any{"Name": "n", "SANs": []any{"a", "b"}, "Id": "i", "Next": nil}, [][]string{{"i", "n", "None"}, {"a", "b"}}},
	} {
		got := genericRecords(tc.in)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || len(got) != len(tc.want) {
			t.Errorf("genericRecords(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestQueryText: -o text prints a query's result as the AWS CLI does.
func TestQueryText(t *testing.T) {
	data := map[string]any{
		"Certificate": map[string]any{"DomainName": "a.test", "Serial": "01:02", "SubjectAlternativeNames": []any{"a.test", "b.test"}},
		"CertificateSummaryList": []any{
			map[string]any{"DomainName": "a.test", "Status": "ISSUED"},
			map[string]any{"DomainName": "b.test", "Status": "EXPIRED"},
		},
	}
	for _, tc := range []struct{ query, want string }{
		{"Certificate.[DomainName,Serial]", "a.test\t01:02\n"},
		{"Certificate.SubjectAlternativeNames", "a.test\tb.test\n"},
		{"CertificateSummaryList[].[DomainName,Status]", "a.test\tISSUED\nb.test\tEXPIRED\n"},
		{"CertificateSummaryList[].DomainName", "a.test\tb.test\n"},
		{"Certificate.{Z:Serial,A:DomainName}", "a.test\t01:02\n"},
		{"CertificateSummaryList[?Status=='NONE']", ""},
	} {
		p, out := newPrinter(t, false, false, "text", tc.query)
		if err := p.Print(data, View{}); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("--query %q -o text: got %q, want %q", tc.query, out.String(), tc.want)
		}
	}
}

func TestRecordsStayOnTheirLine(t *testing.T) {
	p, out := newPrinter(t, false, false, "text", "")
	err := p.Print(nil, View{Records: func() [][]string { return [][]string{{"a\tb", "c\nd", "e\x1b[31m"}} }})
	if err != nil {
		t.Fatal(err)
	}
	// In a pipe too control sequences are escaped, and never a tab or line
	// break inside a field.
	if got, want := out.String(), "a b\tc d\te\\x1b[31m\n"; got != want {
		t.Errorf("pipe: got %q, want %q", got, want)
	}
	p, out = newPrinter(t, true, false, "text", "")
	if err := p.Print(nil, View{Records: func() [][]string { return [][]string{{"ok", "e\x1b[31m"}} }}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "ok\te\\x1b[31m\n"; got != want {
		t.Errorf("terminal: got %q, want %q", got, want)
	}
}

func TestGenericTable(t *testing.T) {
	p, out := newPrinter(t, true, false, "table", "")
	if err := p.Print(map[string]any{"Items": sample.Items}, View{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header and 2 rows, got %q", out.String())
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "Count Name" {
		t.Errorf("header %q", lines[0])
	}
	if f := strings.Fields(lines[2]); strings.Join(f, " ") != "10 a" {
		t.Errorf("row %q", lines[2])
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("escape sequence with colour off: %q", out.String())
	}

	// An object is a key/value listing, descending into a single wrapper.
	p, out = newPrinter(t, true, false, "table", "")
	if err := p.Print(map[string]any{"Certificate": map[string]any{"DomainName": "x.test", "Status": "ISSUED"}}, View{}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "DomainName  x.test\nStatus      ISSUED\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTableViewAndFooter(t *testing.T) {
	p, out := newPrinter(t, true, true, "", "")
	err := p.Print(nil, View{Table: func(s *Styles) *Table {
		return &Table{Headers: []string{"NAME", "STATUS"}, Rows: [][]string{{"a", s.Status("ISSUED")}}, Footer: "more"}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\x1b[32mISSUED\x1b[0m") {
		t.Errorf("no colour: %q", out.String())
	}
	if !strings.HasSuffix(out.String(), "more\n") {
		t.Errorf("no footer: %q", out.String())
	}
}

func TestPrintYAML(t *testing.T) {
	p, out := newPrinter(t, false, false, "yaml", "")
	if err := p.Print(sample, View{}); err != nil {
		t.Fatal(err)
	}
	// The fields in the order of -o json (Name before Count), an empty
	// list as [] (Tags of "a" is nil).
	want := `Items:
  - Name: b
    Count: 2
    Tags:
      - x
  - Name: a
    Count: 10
    Tags: []
NextToken: null
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"www.example.test", "www.example.test"},
		{"héllo wörld ✓", "héllo wörld ✓"},
		{"\ufffd is a real character", "\ufffd is a real character"},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"tab\there", `tab\x09here`},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b31m", `c1 \x9b31m`},
		{"raw \x9b31m", `raw \x9b31m`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"evil\u202eexe.txt", `evil\u202eexe.txt`},
		{"iso\u2066x\u2069", `iso\u2066x\u2069`},
	} {
		if got := Sanitize(tc.in); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSanitizeStyledKeepsOnlyOwnSequences(t *testing.T) {
	var buf bytes.Buffer
	s := NewStyles(&buf, true)
	ok := s.OK("ISSUED")
	if !strings.Contains(ok, "\x1b[") {
		t.Fatalf("OK style has no escape: %q", ok)
	}
	if got := s.sanitizeStyled(ok); got != ok {
		t.Errorf("own style changed: %q -> %q", ok, got)
	}
	// SGR sequences from outside are neutralised even when they look like
	// styling: conceal (8) is not one of ours.
	in := "x\x1b[8mhidden" + s.Dim("+1")
	got := s.sanitizeStyled(in)
	if !strings.HasPrefix(got, `x\x1b[8mhidden`) || !strings.HasSuffix(got, s.Dim("+1")) {
		t.Errorf("sanitizeStyled(%q) = %q", in, got)
	}
	if got := s.sanitizeStyled("\x1b]0;title\x07"); strings.ContainsAny(got, "\x1b\x07") {
		t.Errorf("OSC kept: %q", got)
	}
	// With colour off nothing is kept.
	plain := NewStyles(&buf, false)
	if got := plain.sanitizeStyled(ok); strings.Contains(got, "\x1b") {
		t.Errorf("colour off kept an escape: %q", got)
	}
	if plain.OK("ISSUED") != "ISSUED" {
		t.Errorf("colour off styled: %q", plain.OK("ISSUED"))
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x1b[31mb", "\x9b", "\xff", "\u202e", "\u009b", "x\ty\nz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		if !isClean(got) {
			t.Fatalf("Sanitize(%q) = %q is not clean", s, got)
		}
		if isClean(s) && got != s {
			t.Fatalf("clean %q changed to %q", s, got)
		}
		var buf bytes.Buffer
		st := NewStyles(&buf, true)
		if out := st.sanitizeStyled(s); strings.ContainsAny(sgrPattern().ReplaceAllString(out, ""), "\x1b\x9b") {
			t.Fatalf("sanitizeStyled(%q) = %q keeps an escape", s, out)
		}
	})
}

func TestGenericRecordsListOfLists(t *testing.T) {
	got := genericRecords([]any{[]any{"a.example", "ISSUED"}, []any{"b.example", "EXPIRED"}})
	want := [][]string{{"a.example", "ISSUED"}, {"b.example", "EXPIRED"}}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if strings.Join(got[i], "\t") != strings.Join(want[i], "\t") {
			t.Fatalf("row %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

// failWriter fails every write, as stdout on a full disk does.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A failed write fails Print in every format and table shape: a table with
// headers and no footer, one with a footer, a key/value listing and the
// generic table of a --query result. tablewriter drops its writer's
// errors, so a table used to report success.
func TestPrintReportsWriteErrors(t *testing.T) {
	data := map[string]any{"Items": []any{map[string]any{"Name": "a"}}}
	views := map[string]View{
		"headers": {Table: func(*Styles) *Table { return &Table{Headers: []string{"NAME"}, Rows: [][]string{{"a"}}} }},
		"footer": {Table: func(*Styles) *Table {
			return &Table{Headers: []string{"NAME"}, Rows: [][]string{{"a"}}, Footer: "more"}
		}},
		"key/value": {Table: func(*Styles) *Table { return &Table{Rows: [][]string{{"Name", "a"}}} }},
		"generic":   {},
	}
	for name, v := range views {
		for _, format := range Formats {
			p, _ := newPrinter(t, false, false, format, "")
			p.IO.Out = failWriter{}
			if err := p.Print(data, v); err == nil || !strings.Contains(err.Error(), "no space left") {
				t.Errorf("%s view, -o %s: Print = %v, want the write's error", name, format, err)
			}
		}
	}
}

// A query that fails on the output fails the command (exit 1), after its
// work: the message says the command completed and names the ARNs at the
// top of its output, never the rest of the data, and nothing is printed.
func TestPrintQueryRuntimeError(t *testing.T) {
	// The data mimics go-jmespath's message ("…, expected: …" and quotes
	// around a key): none of it may reach the error.
	data := map[string]any{"CertificateArn": "arn:certctl:acm:local:000000000000:certificate/x",
		"Items": []any{map[string]any{"Name": "secret-looking-name", "Tag": `x, expected: []jmespath.jpType{"secret-looking-name"} "`,
			"PrivateKey": "-----BEGIN PRIVATE KEY-----\nsecret-looking-name\n-----END PRIVATE KEY-----"},
			map[string]any{"Name": "secret-looking-name-2"}}}
	const done = `the command completed (CertificateArn arn:certctl:acm:local:000000000000:certificate/x), but --query `
	for _, tc := range []struct{ query, want string }{
		{"abs(Items)", done + `"abs(Items)" failed on its output, so nothing was printed: a function's argument has the wrong type (expected number)`},
		{"abs(Items[0])", done + `"abs(Items[0])" failed on its output, so nothing was printed: a function's argument has the wrong type (expected number)`},
		{"length(Items[0].Name.x)", done + `"length(Items[0].Name.x)" failed on its output, so nothing was printed: a function's argument has the wrong type (expected string or array or object)`},
		// go-jmespath's "must be number of string" (tester), in words.
		{"sort_by(Items, &nope)", done + `"sort_by(Items, &nope)" failed on its output, so nothing was printed: a sort or comparison key is not a number or a string (a field missing from the items?)`},
	} {
		p, out := newPrinter(t, false, false, "json", tc.query)
		p.Changed = func() bool { return true }
		err := p.Print(data, View{})
		if errs.ExitCodeOf(err) != errs.ExitFailure || err.Error() != tc.want {
			t.Errorf("--query %s: %v (exit %d), want %q (exit 1)", tc.query, err, errs.ExitCodeOf(err), tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-looking-name") {
			t.Errorf("--query %s: the message holds the data: %v", tc.query, err)
		}
		if out.Len() != 0 {
			t.Errorf("--query %s: printed %q", tc.query, out)
		}
	}
}

// A failed query on output that holds what the command made in an object
// of its own (endpoint eab create: the credential, its one-time MAC key)
// names its identifiers — KeyId and the ARNs — so that the credential can
// be revoked, and never the secret (tester: nothing was named).
func TestPrintQueryRuntimeErrorNamesNested(t *testing.T) {
	data := map[string]any{"ExternalAccountBinding": map[string]any{
		"KeyId": "kid-1", "MacKey": "secret-mac-key", "AcmeEndpointArn": "arn:certctl:acm:local:000000000000:acme-endpoint/e",
		"Deeper": map[string]any{"CertificateArn": "arn:not-named"}}}
	p, out := newPrinter(t, false, false, "json", "abs(ExternalAccountBinding.MacKey)")
	p.Changed = func() bool { return true }
	err := p.Print(data, View{})
	want := `the command completed (AcmeEndpointArn arn:certctl:acm:local:000000000000:acme-endpoint/e, KeyId kid-1), but --query "abs(ExternalAccountBinding.MacKey)" failed on its output, so nothing was printed: a function's argument has the wrong type (expected number)`
	if errs.ExitCodeOf(err) != errs.ExitFailure || err.Error() != want {
		t.Errorf("got %v (exit %d), want %q", err, errs.ExitCodeOf(err), want)
	}
	if err != nil && strings.Contains(err.Error(), "secret-mac-key") || out.Len() != 0 {
		t.Errorf("the secret or the output escaped: %v, %q", err, out)
	}
}

// A failed query on an output marked ShownOnce (the MAC key of a new EAB
// credential) prints the whole output instead, and the error says so
// (security tester: the key, shown only then, was lost); its message
// never holds the secret.
func TestPrintQueryRuntimeErrorShownOnce(t *testing.T) {
	data := map[string]any{"ExternalAccountBinding": map[string]any{"KeyId": "kid-1", "MacKey": "secret-mac-key"}}
	p, out := newPrinter(t, false, false, "json", "abs(ExternalAccountBinding.MacKey)")
	p.Changed = func() bool { return true }
	err := p.Print(data, View{ShownOnce: true})
	if errs.ExitCodeOf(err) != errs.ExitFailure || !strings.Contains(err.Error(), "failed on its output, so the whole output was printed instead: it holds what is shown only this once: ") {
		t.Errorf("got %v (exit %d)", err, errs.ExitCodeOf(err))
	}
	if err != nil && strings.Contains(err.Error(), "secret-mac-key") || !strings.Contains(out.String(), `"MacKey": "secret-mac-key"`) {
		t.Errorf("error %v, output %q: want the secret in the output only", err, out)
	}
}

// A failed query on a bulk command's output names the certificates of its
// Results (review: it named none), at most five and how many in all.
func TestPrintQueryRuntimeErrorNamesResults(t *testing.T) {
	var results []any
	for i := range 7 {
		results = append(results, map[string]any{"CertificateArn": fmt.Sprintf("arn:c/%d", i), "Outcome": "SUCCESS"})
	}
	p, _ := newPrinter(t, false, false, "json", "abs(@)")
	p.Changed = func() bool { return true }
	err := p.Print(map[string]any{"Results": results}, View{})
	want := `the command completed (CertificateArn arn:c/0, CertificateArn arn:c/1, CertificateArn arn:c/2, CertificateArn arn:c/3, CertificateArn arn:c/4, … 7 in all), but --query`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want it to begin %q", err, want)
	}
}

// A failed query on the output of a command that changed nothing (list,
// describe: it only read the vault) says the query failed, and names no
// ARN as made or changed (tester: list named those it listed).
func TestPrintQueryRuntimeErrorOfARead(t *testing.T) {
	for _, changed := range []func() bool{nil, func() bool { return false }} {
		p, _ := newPrinter(t, false, false, "json", "abs(CertificateSummaryList)")
		p.Changed = changed
		err := p.Print(map[string]any{"CertificateSummaryList": []any{map[string]any{"CertificateArn": "arn:c/0"}}}, View{})
		want := `--query "abs(CertificateSummaryList)" failed on the output, so nothing was printed: a function's argument has the wrong type (expected number)`
		if errs.ExitCodeOf(err) != errs.ExitFailure || err.Error() != want {
			t.Errorf("got %v (exit %d), want %q", err, errs.ExitCodeOf(err), want)
		}
	}
}

// A query whose mistake shows without data (an unknown function, a wrong
// number of arguments) is refused before the command runs, as a query
// that does not compile is.
func TestNewRefusesUnknownFunctions(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	for _, tc := range []struct{ query, want string }{
		{"foo(Items)", `invalid --query "foo(Items)": unknown function: foo`},
		{"length(a, b)", `invalid --query "length(a, b)": length() takes 1 argument, not 2`},
		{"not_null()", `invalid --query "not_null()": not_null() takes at least 1 argument, not 0`},
		// Calls that evaluating an empty document does not reach.
		{"Items[].foo(@)", `invalid --query "Items[].foo(@)": unknown function: foo`},
		{"CertificateSummaryList[?nofn(@)]", `invalid --query "CertificateSummaryList[?nofn(@)]": unknown function: nofn`},
		{"sort_by(Items, &nofn(@))", `invalid --query "sort_by(Items, &nofn(@))": unknown function: nofn`},
		{"Items[].length(@, @)", `invalid --query "Items[].length(@, @)": length() takes 1 argument, not 2`},
		{"a && nofn(@)", `invalid --query "a && nofn(@)": unknown function: nofn`},
		{"a.b | [0].{x: nofn(@)}", `invalid --query "a.b | [0].{x: nofn(@)}": unknown function: nofn`},
	} {
		if _, err := New(io, "json", tc.query); err == nil || err.Error() != tc.want {
			t.Errorf("New(--query %s): %v, want %q", tc.query, err, tc.want)
		}
	}
	// A function of a value that is missing from an empty document is
	// not refused: the output has it.
	for _, q := range []string{"length(CertificateSummaryList)", "abs(Count)", "sort_by(Items, &Name)[0]",
		"map(&Name, Items)", "merge(a, b, c)", "not_null(a, b)", "Items[?contains(Name, 'x')].join(',', [Name])",
		"max_by(Items, &Size).Name", "to_string(@)", "CertificateSummaryList[].DomainName"} {
		if _, err := New(io, "json", q); err != nil {
			t.Errorf("New(--query %s): %v, want it accepted", q, err)
		}
	}
}

// TestKeyValueStyledKey: a key/value listing whose key carries the styles'
// own colour (audit verify's "The audit chain is whole:") shows it in
// colour, not as escaped text, and aligns the values by the width shown;
// an escape the styles did not make is still shown escaped (found by a
// tester: the key read "\x1b[32mThe audit chain is whole:\x1b[0m").
func TestKeyValueStyledKey(t *testing.T) {
	p, out := newPrinter(t, true, true, "table", "")
	err := p.Print(struct{}{}, View{Table: func(s *Styles) *Table {
		return &Table{Rows: [][]string{{s.OK("Whole:"), "22 records"}, {"Longer key", "v"}, {"bad\x1b[2J", "x"}}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, `\x1b[32m`) || !strings.Contains(got, "Whole:") {
		t.Fatalf("styled key escaped:\n%q", got)
	}
	if !strings.Contains(got, `bad\x1b[2J`) {
		t.Errorf("a foreign escape in a key was not shown escaped:\n%q", got)
	}
	var cols []int
	for i, line := range strings.Split(strings.TrimRight(got, "\n"), "\n") {
		plain := sgrPattern().ReplaceAllString(line, "")
		cols = append(cols, len(plain)-len([]string{"22 records", "v", "x"}[min(i, 2)]))
	}
	if len(cols) != 3 || cols[0] != cols[1] || cols[1] != cols[2] {
		t.Errorf("values not aligned (columns %v):\n%s", cols, got)
	}
}

// TestSummary: what a command reports of a product it wrote to stdout goes
// to stderr, in the format -o asked for, else as its line for people; -q
// silences it, and stdout gets nothing either way.
func TestSummary(t *testing.T) {
	for _, c := range []struct {
		format string
		quiet  bool
		want   string
	}{
		{"json", false, "{\n    \"File\": \"-\"\n}\n"},
		{"yaml", false, "File: '-'\n"},
		{"text", false, "-\n"},
		{"", false, "wrote -\n"},
		{"", true, ""},
	} {
		io, _, out, errOut := iostreams.Test()
		p, err := New(io, c.format, "")
		if err != nil {
			t.Fatal(err)
		}
		p.Quiet = c.quiet
		if err := p.Summary(map[string]string{"File": "-"}, View{}, "wrote -"); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 || errOut.String() != c.want {
			t.Errorf("-o %q quiet %v: stdout %q, stderr %q, want stderr %q", c.format, c.quiet, out, errOut, c.want)
		}
	}
}
