package ca

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// AuditReportFormats are the formats of `ca audit-report` (AWS Private
// CA's AuditReportResponseFormat).
var AuditReportFormats = []string{"JSON", "CSV"}

// AuditReportOptions are the inputs of `ca audit-report`.
type AuditReportOptions struct {
	Deps

	CA      string
	Format  string
	OutFile string
	// Output is the -o given ("" when none): json or yaml print the
	// report as that data; with --out-file, the summary of the file.
	Output string
	// Query: a --query was given, whose pick -o formats.
	Query bool
}

// AuditReportWritten is what `ca audit-report --out-file F` prints with -o
// json: the file written, its format and how many certificates it lists.
type AuditReportWritten struct {
	Path         string `json:"Path"`
	Format       string `json:"Format"`
	Certificates int    `json:"Certificates"`
}

// NewCmdCaAuditReport builds `certctl ca audit-report`.
func NewCmdCaAuditReport(f *cmdutil.Factory, runF func(*AuditReportOptions) error) *cobra.Command {
	opts := &AuditReportOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "audit-report CA [--format JSON|CSV] [--out-file FILE]",
		Short: "Report every certificate the CA issued, with its revocation state",
		Long: `List every certificate the CA issued — by ca issue, request, renewals and ACME
orders alike — oldest first, with AWS Private CA's audit report fields:
awsAccountId certificateArn serial subject notBefore notAfter issuedAt
revokedAt revocationReason templateArn.

--format JSON (the default) prints an array of objects; CSV a header line and
one row a certificate. A value a certificate has not (revokedAt and
revocationReason before a revocation; templateArn for a subordinate without
a path length, which no AWS Private CA template makes) is left out of its
JSON object, as in AWS Private CA's report, and empty in CSV.

The report is its own format, chosen with --format: -o json prints the JSON
report, as --format JSON does, and -o yaml the same report in YAML; -o table
and -o text have no report to print and are refused (exit 2), as is -o
json|yaml with another --format. --query picks from the JSON report printed
(with --format CSV or --out-file it is refused, exit 2), and -o formats what
it picks.

--out-file writes the report to a file (mode 0600, atomically) instead of
stdout and says so on stderr; with -o it prints instead what it wrote,
{"Path","Format","Certificates"} with -o json (on stderr when the file is
stdout, /dev/stdout).` + cmdutil.ExitStatus(0, 1, 2, 3, 4, 6),
		Example: `  certctl ca audit-report 5f2c9e01 --format CSV --out-file report.csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckEnum("format", []string{opts.Format}, AuditReportFormats); err != nil {
				return err
			}
			opts.Output, opts.Query = f.Globals.Output, f.Globals.Query != ""
			if err := checkReportOutput(opts, cmd.Flags().Changed("format")); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaAuditReport(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, nil)
	cmd.Flags().StringVar(&opts.Format, "format", "JSON", "report `format`: JSON or CSV")
	cmd.Flags().StringVar(&opts.OutFile, "out-file", "", "write the report to this `file` instead of stdout")
	cmdutil.MarkOutputFile(cmd, "out-file")
	cmdutil.EnumCompletion(cmd, "format", AuditReportFormats)
	return cmd
}

// checkReportOutput refuses an -o the report cannot honour (tester: -o
// text was silently ignored): printed, the report is JSON or CSV
// (--format), which -o json or yaml may ask for — yaml being the JSON
// report's data in YAML — but table and text have no report to show, and
// an -o at odds with a --format given names both. With --out-file, -o
// formats the summary of the file written, as export's does.
func checkReportOutput(o *AuditReportOptions, formatGiven bool) error {
	if o.Output == "" || o.OutFile != "" {
		return nil
	}
	switch {
	case o.Output != "json" && o.Output != "yaml" && o.Query && o.Format == "JSON":
		// -o formats what the query picks from the JSON report, as
		// everywhere (`--query '[0].serial' -o text`: the bare value).
		return nil
	case o.Output != "json" && o.Output != "yaml":
		return errs.UsageErrorf("-o %s does not apply to the audit report, which has formats of its own: --format JSON|CSV (-o json or -o yaml print the JSON report as JSON or YAML)", o.Output)
	case formatGiven && (o.Format != "JSON" || o.Output != "json"):
		return errs.UsageErrorf("--format %s and -o %s cannot be used together: choose the report's format with one of them", o.Format, o.Output)
	}
	return nil
}

func runCaAuditReport(ctx context.Context, o *AuditReportOptions) error {
	svc, err := o.Authorities(ctx)
	if err != nil {
		return err
	}
	p, err := o.Printer()
	if err != nil {
		return err
	}
	switch {
	case o.Format == "CSV":
		err = p.RefuseQuery("the CSV report")
	case o.OutFile != "":
		err = p.RefuseQuery("nothing printed (--out-file)")
	}
	if err != nil {
		return err
	}
	entries, err := svc.AuditReport(ctx, o.CA)
	if err != nil {
		return err
	}
	if o.OutFile == "" && (p.HasQuery() || o.Output == "yaml") {
		if o.Output == "" {
			p.Format = "json"
		}
		return p.Print(entries, output.View{})
	}
	if o.OutFile == "" {
		w := bufio.NewWriterSize(o.IO.Out, 1<<16)
		if err := writeAuditReport(w, o.Format, entries); err != nil {
			return err
		}
		return w.Flush()
	}
	var b bytes.Buffer
	if err := writeAuditReport(&b, o.Format, entries); err != nil {
		return err
	}
	toStdout := cmdutil.IsStdout(o.IO, o.OutFile)
	if err := cmdutil.WriteOutputFile(o.IO, o.OutFile, b.Bytes(), 0o600); err != nil {
		return cmdutil.FlagPathError("out-file", err)
	}
	w := AuditReportWritten{Path: o.OutFile, Format: o.Format, Certificates: len(entries)}
	line := fmt.Sprintf("Wrote the audit report of %s to %s", output.Count(len(entries), "certificate"), o.OutFile)
	view := output.View{
		Table: func(*output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{{"Wrote", w.Path}, {"Format", w.Format}, {"Certificates", strconv.Itoa(w.Certificates)}}}
		},
		Records: func() [][]string { return [][]string{{w.Path, w.Format, strconv.Itoa(w.Certificates)}} },
	}
	switch {
	case toStdout:
		return p.Summary(w, view, line)
	case o.Output != "":
		return p.Print(w, view)
	case p.Quiet:
		return nil
	}
	_, err = fmt.Fprintln(o.IO.ErrOut, line)
	return err
}

// writeAuditReport writes entries as JSON (an array of objects, one a
// line) or CSV (a header, then a row a certificate).
func writeAuditReport(w io.Writer, format string, entries []authorities.AuditReportEntry) error {
	if format == "CSV" {
		cw := csv.NewWriter(w)
		if err := cw.Write(authorities.AuditReportColumns); err != nil {
			return err
		}
		for i := range entries {
			if err := cw.Write(entries[i].Row()); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	if len(entries) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	sep := "[\n"
	for i := range entries {
		line, err := json.Marshal(&entries[i])
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		sep = ",\n"
	}
	_, err := io.WriteString(w, "\n]\n")
	return err
}
