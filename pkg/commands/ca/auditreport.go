package ca

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
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
JSON object, as in AWS Private CA's report, and empty in CSV. --out-file writes the report to a file (mode 0600,
atomically) instead of stdout. The report is its own format: -o does not
apply; --query picks from the JSON report printed (with --format CSV or
--out-file it is refused, exit 2).` + cmdutil.ExitStatus(0, 1, 2, 3, 4, 6),
		Example: `  certctl ca audit-report 5f2c9e01 --format CSV --out-file report.csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckEnum("format", []string{opts.Format}, AuditReportFormats); err != nil {
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
	if p.HasQuery() {
		p.Format = "json"
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
	if err := cmdutil.WriteOutputFile(o.IO, o.OutFile, b.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "Wrote the audit report of %s to %s\n", output.Count(len(entries), "certificate"), o.OutFile)
	return nil
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
