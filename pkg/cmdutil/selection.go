package cmdutil

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// SelectionFlags are the flags of a command that acts on one certificate
// or on a selection of them (revoke, renew, export --out-dir, tags
// add|remove, delete): --filter-statement or --query-terse, in the search
// grammars, with --dry-run and --yes.
type SelectionFlags struct {
	FilterStatement string
	QueryTerse      string
	DryRun          bool
	Yes             bool
}

// SelectionHelp is the paragraph the long help of such commands carries.
const SelectionHelp = `Instead of one ARN, --filter-statement JSON|file://F (search's ACM grammar)
or --query-terse 'TERMS' (search's terse query) selects certificates: each is
changed in a change of its own (one failure undoes no other; running the
command again finishes the rest), and each outcome is reported
({"Results":[{"CertificateArn","Outcome","Reason"}]}); some certificate
refused or failed exits 7. Interrupted (Ctrl-C, or SIGTERM as systemctl
stop sends), the command starts no other change, reports every outcome so
far and the certificates not reached as NOT_DONE (renew: FAILED), each with
the reason "not done: the command was interrupted", and exits 7 (an
interruption after the last one changes nothing of the outcome). --dry-run
lists what would change and changes nothing; its JSON says "DryRun": true.

` + ConfirmHelp

// AddSelectionFlags registers --filter-statement and --query-terse on cmd,
// and --dry-run and --yes (-y) unless cmd already has them.
func AddSelectionFlags(cmd *cobra.Command, s *SelectionFlags) {
	fl := cmd.Flags()
	OnceStringVar(fl, &s.FilterStatement, "filter-statement", "act on the certificates this ACM filter statement selects (`JSON` or file://F)",
		`join the statements in one {"And":[…]} or {"Or":[…]}`)
	OnceStringVar(fl, &s.QueryTerse, "query-terse", "act on the certificates this terse search `query` selects (e.g. 'tag:host=web1 status:ISSUED')",
		"give every term in one query (all of them must hold)")
	if fl.Lookup("dry-run") == nil {
		fl.BoolVar(&s.DryRun, "dry-run", false, "with a selection: list what would change; change nothing")
	}
	if fl.Lookup("yes") == nil {
		fl.BoolVarP(&s.Yes, "yes", "y", false, "do not ask for confirmation")
	}
	_ = cmd.RegisterFlagCompletionFunc("filter-statement", CompleteFileURL)
	_ = cmd.RegisterFlagCompletionFunc("query-terse", CompleteTerseQuery)
}

// IsSet reports whether a selection was given.
func (s *SelectionFlags) IsSet() bool { return s.FilterStatement != "" || s.QueryTerse != "" }

// flagName names the selection flag that was given, for messages.
func (s *SelectionFlags) flagName() string {
	if s.FilterStatement != "" {
		return "--filter-statement"
	}
	return "--query-terse"
}

// SelectionIDArg is IDArg for a command that also takes a selection: the
// identifier (positional, or through the alias flag) or the selection,
// never both (a usage error naming both flags), and one of them. Use it
// as the command's Args.
func SelectionIDArg(dst *string, flag, name string, s *SelectionFlags) cobra.PositionalArgs {
	one := IDArg(dst, flag, name)
	return func(cmd *cobra.Command, args []string) error {
		if err := MutuallyExclusive(cmd.Flags(), "filter-statement", "query-terse"); err != nil {
			return err
		}
		if !s.IsSet() {
			if err := one(cmd, args); err != nil {
				if len(args) == 0 && !cmd.Flags().Changed(flag) {
					return errs.UsageErrorf("%s: missing argument %s (or a selection: --filter-statement or --query-terse)", CommandName(cmd), name)
				}
				return err
			}
			return nil
		}
		switch {
		case len(args) > 0:
			return errs.UsageErrorf("%s: %s and the %s argument cannot be used together", CommandName(cmd), s.flagName(), name)
		case cmd.Flags().Changed(flag):
			return errs.UsageErrorf("%s: %s and --%s cannot be used together", CommandName(cmd), s.flagName(), flag)
		}
		return nil
	}
}

// CheckDryRun refuses --dry-run without a selection (for commands whose
// --dry-run goes only with one).
func (s *SelectionFlags) CheckDryRun() error {
	if s.DryRun && !s.IsSet() {
		return errs.UsageErrorf("--dry-run goes with --filter-statement or --query-terse")
	}
	return nil
}

// Selection reads the selection the flags name (see ReadStatement).
func (s *SelectionFlags) Selection(io *iostreams.IOStreams) (certificates.Selection, error) {
	sel := certificates.Selection{Query: s.QueryTerse}
	if st := s.FilterStatement; st != "" {
		var err error
		if sel.FilterStatement, err = ReadStatement(io, st); err != nil {
			return sel, err
		}
	}
	return sel, nil
}

// ReadStatement is the filter statement of --filter-statement v: v itself,
// or what the file of file://F or fileb://F, or stdin for -, holds. An
// unreadable file, or a statement with nothing in it, is invalid input
// (exit 4): a filter file left empty must not select every certificate.
func ReadStatement(io *iostreams.IOStreams, v string) ([]byte, error) {
	st := []byte(v)
	if strings.HasPrefix(v, "file://") || strings.HasPrefix(v, "fileb://") || v == "-" {
		var err error
		if st, err = ReadFileArg(io, "filter-statement", v); err != nil {
			return nil, err
		}
	}
	if len(bytes.TrimSpace(st)) == 0 {
		return nil, errs.Invalidf("empty --filter-statement: give a statement, or leave the flag out")
	}
	return st, nil
}

// BulkConfirm is the confirmation of a bulk operation (verb: "revoke",
// "delete"…): when ShouldConfirm, it lists what would change (and what
// would be refused) where Confirm asks, and asks; else it is nil and
// nothing is asked.
func BulkConfirm(io *iostreams.IOStreams, yes bool, verb string) func(*certificates.BulkReport) error {
	if !ShouldConfirm(io, yes) {
		return nil
	}
	w := promptOut(io)
	return func(plan *certificates.BulkReport) error {
		if io.StdinTaken() {
			// Refused by Confirm before anything is listed.
			return Confirm(io, "nothing changed", "")
		}
		const shown = 20
		var doing, refused int
		for _, r := range plan.Results {
			if r.Outcome == certificates.OutcomeRefused {
				refused++
				continue
			}
			if doing < shown {
				fmt.Fprintf(w, "  %s  %s\n", output.ShortID(r.CertificateArn), output.Sanitize(r.DomainName))
			}
			doing++
		}
		if doing > shown {
			fmt.Fprintf(w, "  … and %d more\n", doing-shown)
		}
		if refused > 0 {
			fmt.Fprintf(w, "%d selected certificate(s) would be refused (see --dry-run).\n", refused)
		}
		return Confirm(io, "nothing changed", "%s %d certificate(s)?", strings.ToUpper(verb[:1])+verb[1:], doing)
	}
}

// PrintBulk prints a bulk report: {"Results":[…]} as JSON or YAML, one
// line a certificate as text (ARN, outcome, reason), a table on a
// terminal; then, unless quiet, a summary line on stderr. It returns exit
// 7 when some certificate was refused or failed (or would be, in a dry
// run).
func PrintBulk(p *output.Printer, io *iostreams.IOStreams, rep *certificates.BulkReport, quiet bool) error {
	if err := printBulkResults(p, rep); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintln(io.ErrOut, BulkSummary(rep))
	}
	return rep.Err()
}

// PrintBulkChange is PrintBulk for a change of a selection (revoke,
// delete, tags add|remove): with -q (quiet), whatever -o, it prints only
// the certificates refused, failed or not done, and those whose change
// comes with a word (a revoked certificate still deployed) — nothing when
// there are none, so that a cron job's mail stays empty (tester: -q
// printed 3,000 TAGGED results; with -o text too, which the renewal pass
// kept quiet). A --query's answer and a dry run are printed whole: they
// are what was asked.
func PrintBulkChange(p *output.Printer, io *iostreams.IOStreams, rep *certificates.BulkReport, quiet bool) error {
	if !quiet || p.HasQuery() || rep.DryRun {
		return PrintBulk(p, io, rep, quiet)
	}
	told := *rep
	told.Results = nil
	for _, r := range rep.Results {
		switch {
		case r.Outcome == certificates.OutcomeRefused, r.Outcome == certificates.OutcomeFailed, r.Outcome == certificates.OutcomeNotDone,
			r.Outcome != certificates.OutcomeUnchanged && r.Reason != "":
			told.Results = append(told.Results, r)
		}
	}
	if len(told.Results) > 0 {
		if err := printBulkResults(p, &told); err != nil {
			return err
		}
	}
	return rep.Err()
}

// printBulkResults prints the results of rep (see PrintBulk).
func printBulkResults(p *output.Printer, rep *certificates.BulkReport) error {
	return p.Print(rep, output.View{
		Table: func(s *output.Styles) *output.Table {
			if len(rep.Results) == 0 {
				return &output.Table{Rows: [][]string{{"No certificates match."}}}
			}
			t := &output.Table{Headers: []string{"ID", "DOMAIN", "OUTCOME", "REASON"}}
			for _, r := range rep.Results {
				outcome := s.OK(r.Outcome)
				if r.Outcome == certificates.OutcomeRefused || r.Outcome == certificates.OutcomeFailed || r.Outcome == certificates.OutcomeNotDone {
					outcome = s.Bad(r.Outcome)
				}
				// The row names the certificate: its reason does not
				// again, so that what a narrow terminal keeps of it is
				// the why (tester: "certificate ffe83f83-8734-4c…").
				reason := strings.TrimPrefix(r.Reason, "certificate "+r.ID+" ")
				t.Rows = append(t.Rows, []string{output.ShortID(r.CertificateArn), output.Sanitize(r.DomainName), outcome, output.Sanitize(reason)})
			}
			return t
		},
		Records: func() [][]string {
			rows := make([][]string, 0, len(rep.Results))
			for _, r := range rep.Results {
				rows = append(rows, []string{r.CertificateArn, r.Outcome, r.Reason})
			}
			return rows
		},
	})
}

// BulkSummary is the one-line summary of a bulk report, e.g. "7 revoked,
// 2 refused, 0 failed" ("dry run: 7 would be revoked, 2 would be
// refused").
func BulkSummary(rep *certificates.BulkReport) string {
	counts := map[string]int{}
	var order []string
	for _, r := range rep.Results {
		if counts[r.Outcome] == 0 && r.Outcome != certificates.OutcomeRefused && r.Outcome != certificates.OutcomeFailed {
			order = append(order, r.Outcome)
		}
		counts[r.Outcome]++
	}
	var parts []string
	would := ""
	if rep.DryRun {
		would = "would be "
	}
	for _, o := range order {
		parts = append(parts, fmt.Sprintf("%d %s%s", counts[o], would, strings.ReplaceAll(strings.ToLower(o), "_", " ")))
	}
	parts = append(parts, fmt.Sprintf("%d %srefused", counts[certificates.OutcomeRefused], would))
	if !rep.DryRun {
		parts = append(parts, fmt.Sprintf("%d failed", counts[certificates.OutcomeFailed]))
	}
	s := strings.Join(parts, ", ")
	if len(rep.Results) == 0 {
		s = "no certificate matches the selection"
	}
	if rep.DryRun {
		s = "dry run: " + s
	}
	return s
}
