// Package output prints every command's result in the format the user chose:
// a table for people, tab-separated records, JSON or YAML for programs, each
// after an optional JMESPath --query over the JSON form (as the AWS CLI does).
package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jmespath/go-jmespath"

	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// Formats are the values of -o/--output, in help order.
var Formats = []string{"table", "json", "yaml", "text"}

// Printer prints results.
type Printer struct {
	IO     *iostreams.IOStreams
	Format string
	query  *jmespath.JMESPath
	// queryText is the --query expression, for its error messages.
	queryText string
	Styles    *Styles
	// Quiet is -q given with neither -o nor --query: see Acknowledge.
	Quiet bool
	// asked: -o was given, not chosen by the terminal (see Summary).
	asked bool
	// Changed, when set, reports whether the command changed anything
	// (wrote to the vault): a --query that fails on the output of one
	// that did names what the output holds of it (queryError).
	Changed func() bool
}

// Acknowledge prints data as Print does, unless the printer is Quiet: the
// summary of a change or a check whose exit status already says how it
// went (a backup made, a log that verifies, a target recorded, tags
// added), which -q silences so that a cron job's mail stays empty
// (tester: vault backup, vault verify and audit verify printed it all).
// A result that is itself what was asked for (an ARN, a listing) is
// printed with Print whatever -q says.
func (p *Printer) Acknowledge(data any, v View) error {
	if p.Quiet {
		return nil
	}
	return p.Print(data, v)
}

// Summary prints data, what a command reports of the product it wrote to
// its standard output (a backup with --out-file -, a file written through
// /dev/stdout), on stderr, so that nothing is added to the product: in the
// format -o asked for (the same JSON as with --out-file FILE -o json), or
// picked by --query; else line, one line for people (the default format,
// json in a pipe, is stdout's, and stdout is not where this goes). As
// Acknowledge, nothing with -q (tester: vault backup --out-file - -o json
// printed its summary as text; export --out-file /dev/stdout appended its
// JSON report to the PEM).
func (p *Printer) Summary(data any, v View, line string) error {
	if p.Quiet {
		return nil
	}
	if !p.asked && p.query == nil {
		_, err := io.WriteString(p.IO.ErrOut, line+"\n")
		return err
	}
	e := *p
	e.IO = p.IO.ToStderr()
	e.Styles = NewStyles(e.IO.Out, e.IO.ColorEnabled())
	return e.Print(data, v)
}

// HasQuery reports whether a --query selects what is printed.
func (p *Printer) HasQuery() bool { return p.query != nil }

// RefuseQuery is the usage error (exit 2) of a --query given to a command
// whose output, what, has no JSON form to pick from (a CSV report, a zone
// file, DER), and nil without a --query: the query is never ignored.
func (p *Printer) RefuseQuery(what string) error {
	if p.query == nil {
		return nil
	}
	return errs.UsageErrorf("--query picks from JSON output, and %s is not JSON", what)
}

// New checks format and query and returns a printer. An empty format means
// table on a terminal and json otherwise.
func New(io *iostreams.IOStreams, format, query string) (*Printer, error) {
	asked := format != ""
	if !asked {
		format = "json"
		if io.IsStdoutTTY() {
			format = "table"
		}
	}
	if !ValidFormat(format) {
		return nil, fmt.Errorf("unknown output format %q%s", format, enum.Problem(format, Formats))
	}
	p := &Printer{IO: io, Format: format, Styles: NewStyles(io.Out, io.ColorEnabled()), asked: asked}
	if query != "" {
		q, err := compileQuery(legacyLiterals(query))
		if err == nil {
			err = checkQuery(q)
		}
		if err != nil {
			return nil, fmt.Errorf("invalid --query %q: %v", query, err)
		}
		p.query, p.queryText = q, query
	}
	return p, nil
}

// compileQuery compiles a JMESPath expression. go-jmespath's lexer panics
// on some input that is not ASCII (an identifier holding "é"); that is an
// invalid expression, not a failure of certctl.
func compileQuery(expr string) (q *jmespath.JMESPath, err error) {
	defer func() {
		if recover() != nil {
			q, err = nil, errors.New("unreadable expression (identifiers that are not ASCII need double quotes)")
		}
	}()
	return jmespath.Compile(expr)
}

// checkQuery finds, before the command does anything, the mistakes of a
// compiled query that go-jmespath reports only when it runs, and only if
// evaluation reaches them: a call of an unknown function or with the wrong
// number of arguments, anywhere in the expression (inside a projection of
// nothing, a filter or an &expression too). It walks the parsed
// expression and checks each call against go-jmespath's own function
// table, read by reflection (the library exports neither): when their
// shape is not the one expected, it checks nothing more than go-jmespath
// will when the query runs.
func checkQuery(q *jmespath.JMESPath) (err error) {
	defer func() {
		if recover() != nil {
			err = nil
		}
	}()
	v := reflect.ValueOf(q).Elem()
	table := v.FieldByName("intr").Elem().FieldByName("fCall").Elem().FieldByName("functionTable")
	if table.Kind() != reflect.Map {
		return nil
	}
	return checkCalls(v.FieldByName("ast"), table, functionNodeType())
}

// functionNodeType is go-jmespath's node type of a function call, read
// from the parsed root of a call rather than assumed from the order of its
// constants.
var functionNodeType = sync.OnceValue(func() int64 {
	q := jmespath.MustCompile("length(@)")
	return reflect.ValueOf(q).Elem().FieldByName("ast").FieldByName("nodeType").Int()
})

func arguments(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}

// checkCalls checks the calls (nodes of type call) in the go-jmespath AST
// node n against the function table.
func checkCalls(n, table reflect.Value, call int64) error {
	if n.FieldByName("nodeType").Int() == call {
		name := n.FieldByName("value").Elem().String()
		entry := table.MapIndex(reflect.ValueOf(name))
		if !entry.IsValid() {
			return errors.New("unknown function: " + name)
		}
		args, given := entry.FieldByName("arguments"), n.FieldByName("children").Len()
		if k := args.Len(); k > 0 {
			variadic := args.Index(k - 1).FieldByName("variadic").Bool()
			switch {
			case !variadic && given != k:
				return fmt.Errorf("%s() takes %s, not %d", name, arguments(k), given)
			case variadic && given < k:
				return fmt.Errorf("%s() takes at least %s, not %d", name, arguments(k), given)
			}
		}
	}
	children := n.FieldByName("children")
	for i := 0; i < children.Len(); i++ {
		if err := checkCalls(children.Index(i), table, call); err != nil {
			return err
		}
	}
	return nil
}

// searchQuery runs q on data; a panic of go-jmespath's interpreter is an
// error of the query.
func searchQuery(q *jmespath.JMESPath, data any) (v any, err error) {
	defer func() {
		if recover() != nil {
			v, err = nil, errors.New("the expression cannot be evaluated")
		}
	}()
	return q.Search(data)
}

// expectedTypes is " (expected number or string)" for go-jmespath's
// wrong-type message msg, "Invalid type for: <argument>, expected:
// []jmespath.jpType{"number", "string"}", read from its end: the argument
// before it is the command's output (a private key, with export), which
// may itself hold ", expected: " and quotes, and is never read.
func expectedTypes(msg string) string {
	const mark = `, expected: []jmespath.jpType{`
	i := strings.LastIndex(msg, mark)
	if i < 0 || !strings.HasSuffix(msg, "}") {
		return ""
	}
	var types []string
	for _, t := range strings.Split(msg[i+len(mark):len(msg)-1], ", ") {
		if n, err := strconv.Unquote(t); err == nil && n != "" && !strings.ContainsAny(n, `"{}, `) {
			types = append(types, n)
		}
	}
	if len(types) == 0 {
		return ""
	}
	return " (expected " + strings.Join(types, " or ") + ")"
}

// queryError is the error of a --query that failed on the command's
// output: a function applied to the wrong type, say. The command has done
// its work by then (output is printed last), so this is not a usage error
// (exit 2, which tells a script that nothing happened) but a failure
// (exit 1); when the command changed something, it says so, naming what
// it made or changed (the output's top-level ARNs: a new certificate must
// not be lost with the output) — a command that only read says nothing of
// the kind (tester: list named the ARNs it listed as if it had made
// them). go-jmespath's message for a wrong type holds the whole argument
// (the command's entire output, in Go's map syntax), so only what was
// expected is kept.
func queryError(query string, output any, err error, changed, wholePrinted bool) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "Invalid type for: "):
		msg = "a function's argument has the wrong type" + expectedTypes(msg)
	case msg == "invalid type, must be number of string":
		// sort_by, max_by, min_by on a key that is neither (go-jmespath's
		// wording, with its typo: tester).
		msg = "a sort or comparison key is not a number or a string (a field missing from the items?)"
	}
	printed := "so nothing was printed"
	if wholePrinted {
		printed = "so the whole output was printed instead: it holds what is shown only this once"
	}
	if !changed {
		return errs.Failuref("--query %q failed on the output, %s: %s", query, printed, msg)
	}
	arns := identifiers(output, true)
	sort.Strings(arns)
	done := "the command completed"
	if n := len(arns); n > maxNamed {
		arns = append(arns[:maxNamed:maxNamed], fmt.Sprintf("… %d in all", n))
	}
	if len(arns) > 0 {
		done += " (" + strings.Join(arns, ", ") + ")"
	}
	return errs.Failuref("%s, but --query %q failed on its output, %s: %s", done, query, printed, msg)
}

// identifiers are the "Field value" of output's top-level identifiers —
// its fields named *Arn, and KeyId — and, with nested, those of the objects
// it holds, alone or in a list (tester: `endpoint eab create` holds its
// credential in one, and the message named nothing to revoke; review: a
// bulk command's Results named nothing either). Nothing else of the
// output (a MAC key) is named.
func identifiers(output any, nested bool) []string {
	m, ok := output.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	for k, v := range m {
		switch v := v.(type) {
		case string:
			if v != "" && (strings.HasSuffix(k, "Arn") || k == "KeyId") {
				out = append(out, k+" "+v)
			}
		case map[string]any:
			if nested {
				out = append(out, identifiers(v, false)...)
			}
		case []any:
			if nested {
				for _, item := range v {
					out = append(out, identifiers(item, false)...)
				}
			}
		}
	}
	return out
}

// maxNamed is how many identifiers a failed query's message names.
const maxNamed = 5

// ValidFormat reports whether f is one of Formats (exactly: SPEC names
// them in lower case).
func ValidFormat(f string) bool { return enum.Has(Formats, f) }

// View renders a result for people (table) and for awk (text). Either may be
// nil, in which case a generic rendering of the JSON form is used.
type View struct {
	// Table returns a table for a terminal; human is true when it is shown
	// to a person (relative times, colour).
	Table func(s *Styles) *Table
	// Records returns one record a line for -o text.
	Records func() [][]string
	// NextToken, when set, continues a paged list (--max-items): a table
	// ends with a hint to it, and -o text, whose stdout holds records
	// only, writes it to stderr (WriteNextToken). It is the output's own
	// NextToken field.
	NextToken *string
	// ShownOnce marks an output that holds what is shown only this once
	// (a new EAB credential's MAC key): a --query that fails on it prints
	// the whole output instead of nothing, so that it is not lost
	// (security tester: a credential was left whose key was never shown).
	ShownOnce bool
}

// Table is a titled table: Headers may be empty for a key/value listing.
type Table struct {
	Headers []string
	Rows    [][]string
	// Footer is printed after the table (a list's next-page hint goes
	// to stderr instead).
	Footer string
	// Keep are the headers of columns a terminal too narrow for the table
	// cuts last: the others are cut, and the optional ones left out,
	// first; a kept column is cut only when the table would not fit the
	// terminal otherwise.
	Keep []string
	// Optional are the headers of columns a terminal too narrow for the
	// table leaves out, first to last, before it cuts the others short
	// (see dropOptional).
	Optional []string
	// grid prints Rows as aligned columns without headers (a query's
	// list of lists), not as a key/value listing.
	grid bool
}

// Print prints data (the JSON form, with ACM field names) in the chosen
// format, rendering v for table and text output.
func (p *Printer) Print(data any, v View) error {
	if p.query == nil && (p.Format == "json" || p.Format == "yaml") {
		// Encode the value itself so fields keep their documented order.
		if p.Format == "yaml" {
			return writeYAML(p.IO.Out, emptyLists(data))
		}
		return WriteJSON(p.IO.Out, data)
	}
	if p.query != nil || p.Format == "json" || p.Format == "yaml" || (v.Table == nil && p.Format == "table") || (v.Records == nil && p.Format == "text") {
		// Copied once (emptyLists) where it is encoded: a table or
		// text rendered from v never is.
		generic, err := toGeneric(emptyLists(data))
		if err != nil {
			return err
		}
		if p.query != nil {
			out := generic
			generic, err = searchQuery(p.query, out)
			if err != nil {
				whole := v.ShownOnce && WriteJSON(p.IO.Out, data) == nil
				return queryError(p.queryText, out, err, p.Changed != nil && p.Changed(), whole)
			}
		}
		switch p.Format {
		case "json":
			return writeJSON(p.IO.Out, generic) // generic holds no nil list: toGeneric's came filled
		case "yaml":
			return writeYAML(p.IO.Out, generic)
		case "text":
			if str, ok := generic.(string); ok {
				// One string (`--query Certificate -o text`): as is, so
				// that a PEM keeps its lines, as the AWS CLI prints it.
				return p.writeText(str)
			}
			return p.WriteRecords(textRecords(generic, p.query != nil))
		default:
			return p.writeTable(genericTable(generic))
		}
	}
	if p.Format == "text" {
		if err := p.WriteRecords(v.Records()); err != nil {
			return err
		}
		if v.NextToken == nil {
			return nil
		}
		return p.WriteNextToken(*v.NextToken)
	}
	t := v.Table(p.Styles)
	if err := p.writeTable(t); err != nil {
		return err
	}
	if v.NextToken != nil && *v.NextToken != "" && len(t.Rows) > 0 {
		// On stderr, as -o text writes it: stdout holds the table only
		// (tester: `list -o table > f` had it in f).
		_, err := io.WriteString(p.IO.ErrOut, p.Styles.Dim(moreHint+*v.NextToken)+"\n")
		return err
	}
	return nil
}

// moreHint introduces the token of a list's next page.
const moreHint = "More: --starting-token "

// WriteNextToken writes the token of a paged list's next page for -o text
// (none: nothing), on stderr: stdout holds one record a line, for cut and
// awk, and a script paging in text reads the token there
// (`2>&1 >page.txt`), as a person at a terminal sees it.
func (p *Printer) WriteNextToken(token string) error {
	if token == "" || !p.PlainText() {
		return nil
	}
	_, err := io.WriteString(p.IO.ErrOut, moreHint+token+"\n")
	return err
}

// PlainText reports whether Print writes a view's Records (-o text
// without --query), which a command printing as it reads may write
// itself, a part at a time, with WriteRecords.
func (p *Printer) PlainText() bool { return p.query == nil && p.Format == "text" }

// Wants reports whether the printer emits the given format.
func (p *Printer) Wants(format string) bool { return p.Format == format }

// toGeneric turns data into the map/slice form JMESPath and YAML work on,
// through its JSON encoding so field names and omissions match -o json.
// Numbers become float64, the type JMESPath compares, sorts and sums
// (json.Number would make `[?VersionNumber > \`1\`]` match nothing).
func toGeneric(data any) (any, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// WriteJSON writes v as certctl writes all JSON: indented by four spaces,
// with <, > and & as they are, and empty lists as [] (emptyLists).
func WriteJSON(w io.Writer, v any) error { return writeJSON(w, emptyLists(v)) }

// writeJSON is WriteJSON of a value whose lists are filled already.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// WriteJSONLine writes v as one compact JSON line (for --follow streams).
func WriteJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(emptyLists(v))
}

// WriteRecords writes tab-separated records, every field sanitised: -o text
// is for pipes, but what a pipe ends in (cut, less -R, a terminal) may still
// obey a certificate's control sequences.
func (p *Printer) WriteRecords(rows [][]string) error {
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(Sanitize(recordField(c)))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(p.IO.Out, b.String())
	return err
}

// SanitizeLines is Sanitize of each line of s (a CR ending a line goes):
// text of several lines keeps them.
func SanitizeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Sanitize(strings.TrimSuffix(l, "\r"))
	}
	return strings.Join(lines, "\n")
}

// writeText writes one string with its line breaks, ending with a newline,
// each line sanitised (in a pipe too, as WriteRecords).
func (p *Printer) writeText(s string) error {
	s = SanitizeLines(s)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	_, err := io.WriteString(p.IO.Out, s)
	return err
}

// recordField keeps a value on its line and in its column.
func recordField(s string) string {
	if !strings.ContainsAny(s, "\t\n\r") {
		return s
	}
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func scalarString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		if t {
			return "true"
		}
		return "false"
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case map[string]any, []any:
		b, _ := json.Marshal(t)
		return string(b)
	}
	return fmt.Sprint(v)
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// genericRecords renders any JSON value as lines of tab-separated fields,
// by the AWS CLI's rules for --output text:
//
//   - a list of scalars is one line, its values separated by tabs
//     (--query 'Certificate.[DomainName,Serial]');
//   - a list of lists is a line per inner list, by the same rules
//     (--query 'CertificateSummaryList[].[DomainName,Status]'); scalars
//     mixed with lists make one line of their own, first;
//   - a list of objects is a line per object, its scalar fields in key
//     order;
//   - an object is a line of its scalar values in key order, then the
//     lines of its lists and objects, in key order.
//
// The columns of a list of objects are the keys holding a scalar or null
// in some object and a list or object in none, so every line has the same
// fields (a key an object lacks prints as an empty field). A null prints
// None, as the AWS CLI prints it (str(None)): so the AWS paging loop
// (`--query NextToken -o text` until it prints None) ends (tester: it
// printed nothing, and the loop went round the first pages for ever), and
// a field that is null on one page and set on the next keeps its column
// (tester: `{d:DomainName,r:RevokedAt,z:Status}` printed two columns on a
// page without a revoked certificate, three on one with).
func genericRecords(v any) [][]string { return textRecords(v, true) }

// textRecords is genericRecords for a query's result (queried) or for a
// command's whole output read as JSON (a view without records of its
// own): there a null is a field the AWS CLI leaves out of its output, so
// it prints nothing (a last page's null NextToken) rather than None.
func textRecords(v any, queried bool) [][]string {
	scalar := scalarString
	if queried {
		scalar = textScalar
	}
	switch t := v.(type) {
	case []any:
		var rows [][]string
		var objects, lists bool
		for _, item := range t {
			switch item.(type) {
			case map[string]any:
				objects = true
			case []any:
				lists = true
			}
		}
		if !objects {
			var scalars []string
			for _, item := range t {
				if isScalar(item) {
					scalars = append(scalars, scalar(item))
				}
			}
			if len(scalars) > 0 {
				rows = append(rows, scalars)
			}
			if lists {
				for _, item := range t {
					if !isScalar(item) {
						rows = append(rows, textRecords(item, queried)...)
					}
				}
			}
			return rows
		}
		cols := recordColumns(t, queried)
		for _, item := range t {
			if inner, ok := item.([]any); ok {
				r := make([]string, len(inner))
				for i, x := range inner {
					r[i] = scalar(x)
				}
				rows = append(rows, r)
				continue
			}
			if m, ok := item.(map[string]any); ok {
				r := make([]string, len(cols))
				for i, k := range cols {
					if x, ok := m[k]; ok {
						r[i] = scalar(x)
					}
				}
				rows = append(rows, r)
			} else {
				rows = append(rows, []string{scalar(item)})
			}
		}
		return rows
	case map[string]any:
		var rows [][]string
		var scalars []string
		for _, k := range sortedKeys(t) {
			switch x := t[k].(type) {
			case []any:
				rows = append(rows, textRecords(x, queried)...)
			case map[string]any:
				rows = append(rows, textRecords(x, queried)...)
			case nil:
				if queried {
					scalars = append(scalars, textNull)
				}
			default:
				scalars = append(scalars, scalar(x))
			}
		}
		if len(scalars) > 0 {
			rows = append([][]string{scalars}, rows...)
		}
		return rows
	case nil:
		if queried {
			return [][]string{{textNull}}
		}
		return nil
	}
	return [][]string{{scalarString(v)}}
}

// textNull is what -o text prints for a null result or list item: the
// AWS CLI's None.
const textNull = "None"

// textScalar is scalarString, but a null is textNull.
func textScalar(v any) string {
	if v == nil {
		return textNull
	}
	return scalarString(v)
}

// recordColumns are the scalar columns of a list of objects, sorted: the
// keys a null fills in some object count too when queried (genericRecords).
func recordColumns(list []any, queried bool) []string {
	scalar, nested := map[string]bool{}, map[string]bool{}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		for k, x := range m {
			switch {
			case !isScalar(x):
				nested[k] = true
			case x != nil || queried:
				scalar[k] = true
			}
		}
	}
	var cols []string
	for k := range scalar {
		if !nested[k] {
			cols = append(cols, k)
		}
	}
	sort.Strings(cols)
	return cols
}

// genericTable renders any JSON value as a table: a list of objects gives a
// column per key; an object gives key/value rows (descending into a single
// wrapping object such as {"Certificate": {...}}).
func genericTable(v any) *Table {
	t := dataTable(v)
	// Every cell is data (a query's result), none styled: control
	// characters are escaped here, so that the table writer, which keeps
	// its own styles' sequences in a cell, keeps none of a value's.
	for i, h := range t.Headers {
		t.Headers[i] = Sanitize(h)
	}
	for _, r := range t.Rows {
		for j, c := range r {
			r[j] = Sanitize(c)
		}
	}
	return t
}

func dataTable(v any) *Table {
	switch t := v.(type) {
	case []any:
		allObjects := true
		for _, item := range t {
			if _, ok := item.(map[string]any); !ok {
				allObjects = false
				break
			}
		}
		tab := &Table{grid: true}
		if !allObjects {
			// A row per item, as the AWS CLI's table shows a query's
			// list: a scalar is a row of one cell, a list of scalars
			// (--query 'X[].[A,B]') a row of its values.
			for _, item := range t {
				if inner, ok := item.([]any); ok {
					row := make([]string, len(inner))
					for i, x := range inner {
						row[i] = scalarString(x)
					}
					tab.Rows = append(tab.Rows, row)
					continue
				}
				tab.Rows = append(tab.Rows, []string{scalarString(item)})
			}
			return tab
		}
		tab.Headers = recordColumns(t, false)
		for _, item := range t {
			m := item.(map[string]any)
			row := make([]string, len(tab.Headers))
			for i, h := range tab.Headers {
				row[i] = scalarString(m[h])
			}
			tab.Rows = append(tab.Rows, row)
		}
		return tab
	case map[string]any:
		if len(t) == 1 {
			for _, x := range t {
				if inner, ok := x.(map[string]any); ok {
					return dataTable(inner)
				}
				if list, ok := x.([]any); ok {
					return dataTable(list)
				}
			}
		}
		tab := &Table{}
		for _, k := range sortedKeys(t) {
			tab.Rows = append(tab.Rows, []string{k, scalarString(t[k])})
		}
		return tab
	case nil:
		return &Table{}
	}
	return &Table{Rows: [][]string{{scalarString(v)}}}
}

// WithOptional is table with the columns named optional (Table.Optional):
// left out, first to last, on a terminal too narrow for the table.
func WithOptional(table func(s *Styles) *Table, optional ...string) func(s *Styles) *Table {
	return func(s *Styles) *Table {
		t := table(s)
		t.Optional = optional
		return t
	}
}

// WithKept is table with the columns named by keep cut last on a narrow
// terminal (Table.Keep).
func WithKept(table func(s *Styles) *Table, keep ...string) func(s *Styles) *Table {
	return func(s *Styles) *Table {
		t := table(s)
		t.Keep = keep
		return t
	}
}

// ListView is the View of a list of items: a table with headers (or the
// empty message when there are none) and one record per item.
func ListView[T any](items []T, empty string, headers []string, row func(s *Styles, item T) []string, record func(item T) []string) View {
	return View{
		Table: func(s *Styles) *Table {
			if len(items) == 0 {
				return &Table{Rows: [][]string{{empty}}}
			}
			t := &Table{Headers: headers}
			for _, it := range items {
				t.Rows = append(t.Rows, row(s, it))
			}
			return t
		},
		Records: func() [][]string {
			rows := make([][]string, 0, len(items))
			for _, it := range items {
				rows = append(rows, record(it))
			}
			return rows
		},
	}
}
