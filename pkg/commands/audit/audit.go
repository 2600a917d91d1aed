// Package audit implements `certctl audit list` and `certctl audit verify`:
// who changed what in the vault, and whether that record is whole.
package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	auditrec "github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/auditlog"
	"github.com/certctl/certctl/pkg/timeutil"
)

// NewCmdAudit builds `certctl audit`.
func NewCmdAudit(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit <command>",
		Short: "Who changed what in the vault, and whether that record is whole",
		Long: `Every change to the vault — through any command, the ACME server or renew --due —
appends an audit record in the same transaction as the change: who (the OS user
and host, the ACME account, or the scheduler), what (the AWS API name, such as
RequestCertificate or RevokeCertificate), which resources, the outcome (a change
refused by a rule is recorded with its error) and the request parameters, never
a key, passphrase, MAC key or approval code. Key exports are recorded too.

The records form a chain: each carries an HMAC under a key derived from the
vault's master key over its content and the record before it, so that someone
who can write the database but does not hold the master key cannot alter,
remove or insert a record unnoticed. Both verbs need the master key (set
CERTCTL_VAULT_PASSPHRASE or --vault-passphrase-file for a passphrase vault).`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdVerify(f, nil))
	return cmd
}

// ListOptions are the inputs of audit list: its dependencies, as functions
// that tests replace, and its flag values.
type ListOptions struct {
	IO       *iostreams.IOStreams
	Printer  func() (*output.Printer, error)
	AuditLog func(context.Context) (*auditlog.Service, error)
	Now      func() time.Time

	Since         string
	Until         string
	EventName     string
	Resource      string
	Actor         string
	MaxItems      int
	StartingToken string
}

// ListOutput is audit list's JSON form.
type ListOutput struct {
	AuditEvents []*auditrec.Record `json:"AuditEvents"`
	NextToken   *string            `json:"NextToken"`
}

// NewCmdList builds `certctl audit list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO, Printer: f.Printer, AuditLog: f.AuditLog, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "list [--since T|D] [--until T] [--event-name N] [--resource ARN] [--actor A]",
		Short: "List the audit records, oldest first",
		Long: `List the audit records, oldest first:
  {"AuditEvents":[{"EventId","EventTime","EventName","Actor":{"Type","Id","Host"},
    "Resources","Outcome","ErrorCode","RequestParameters"}],"NextToken"}
Actor types: USER (an OS user on a host), ACME_ACCOUNT, SCHEDULER.

--since takes an RFC 3339 time, a date (its midnight UTC) or a duration back
from now (24h, 7d); --until the same (--until 1h: records older than an hour). --event-name matches the API name exactly (RequestCertificate); --resource an
ARN, or the UUID at its end; --actor a user or account id, a host, or an actor
type. --max-items pages the list: continue with --starting-token NextToken
(with -o text on stderr, "More: --starting-token TOKEN", stdout holding the
records only); the pages keep the time window of the first (a --since 24h
does not slide between them).

Piped (-o text) each record is one tab-separated line:
  EVENT_TIME  EVENT_NAME  OUTCOME  ACTOR_TYPE  ACTOR_ID  RESOURCES  EVENT_ID` + cmdutil.ExitStatus(0, 2, 4, 6),
		Example: `  certctl audit list --since 7d
  certctl audit list --event-name ExportCertificate -o text
  certctl audit list --resource 3f2a1b9c-… --query 'AuditEvents[].[EventTime,EventName,Actor.Id]'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.RefuseEmptyFlags(cmd, "since", "until", "event-name", "resource", "actor"); err != nil {
				return err
			}
			if _, err := opts.query(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runList(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Since, "since", "", "only records from this `time` (RFC 3339, or a date: its midnight UTC) or this long ago (24h, 7d)")
	fl.StringVar(&opts.Until, "until", "", "only records up to this `time` (RFC 3339, its whole second included, or a date: its midnight UTC) or this long ago (1h)")
	fl.StringVar(&opts.EventName, "event-name", "", "only records of this API `name` (RequestCertificate, …)")
	fl.StringVar(&opts.Resource, "resource", "", "only records concerning this `ARN` (or UUID)")
	_ = cmd.RegisterFlagCompletionFunc("resource", f.CompleteResources)
	fl.StringVar(&opts.Actor, "actor", "", "only records made by this `actor` (id, host or type)")
	cmdutil.MaxItemsFlag(fl, &opts.MaxItems, "return at most `N` records and a NextToken")
	fl.StringVar(&opts.StartingToken, "starting-token", "", "continue from a previous NextToken")
	cmdutil.EnumCompletion(cmd, "event-name", auditrec.EventNames)
	return cmd
}

// query is the service query of the options.
func (o *ListOptions) query() (auditlog.Query, error) {
	q := auditlog.Query{
		Filter:        auditrec.Filter{EventName: o.EventName, Resource: o.Resource, Actor: o.Actor},
		MaxItems:      o.MaxItems,
		StartingToken: o.StartingToken,
	}
	// Names are exact, as the AWS APIs spell them. A name certctl does
	// not know is let through (an older vault may hold names no longer
	// made), but one that is a known name in another case is a mistake.
	if s := enum.Suggest(o.EventName, auditrec.EventNames); s != "" {
		return q, &errs.Error{Exit: errs.ExitUsage, Err: enum.Error("--event-name", o.EventName, auditrec.EventNames)}
	}
	if o.MaxItems < 0 {
		return q, errs.UsageErrorf("--max-items must be positive")
	}
	if o.Since != "" {
		t, err := timeutil.ParseSince(o.Since, o.Now())
		if err != nil {
			return q, errs.UsageErrorf("--since: %v", err)
		}
		q.Filter.Since = t
	}
	if o.Until != "" {
		// A time, a date, or — as --since takes it (on-call tester) — a
		// duration back from now (--until 1h: records older than an hour).
		t, err := timeutil.ParseTimeOrDate(o.Until)
		if err != nil {
			d, derr := timeutil.ParseDuration(o.Until)
			if derr != nil {
				return q, errs.UsageErrorf("--until: %q is neither an RFC 3339 time, a date (2026-12-01) nor a duration (24h, 7d)", o.Until)
			}
			t = o.Now().Add(-d)
		} else if !strings.Contains(o.Until, ".") {
			// The whole second: records are shown in whole seconds,
			// and one copied from the list into --until is kept
			// (tester: it was left out). A fraction given is taken
			// as given (review).
			t = t.Add(time.Second - time.Nanosecond)
		}
		q.Filter.Until = t
	}
	if !q.Filter.Since.IsZero() && !q.Filter.Until.IsZero() && q.Filter.Until.Before(q.Filter.Since) {
		// An empty list would say nothing happened (tester).
		return q, errs.UsageErrorf("--until (%s) is before --since (%s)",
			timeutil.RFC3339(q.Filter.Until), timeutil.RFC3339(q.Filter.Since))
	}
	return q, nil
}

func runList(ctx context.Context, o *ListOptions) error {
	q, err := o.query()
	if err != nil {
		return err
	}
	if o.EventName != "" && !slices.Contains(auditrec.EventNames, o.EventName) && o.IO != nil {
		// Let through (an older vault may hold names no longer made),
		// but said: an empty list read as "nothing happened" (tester).
		fmt.Fprintf(o.IO.ErrOut, "certctl: warning: --event-name %s is no name this certctl records (see certctl audit list --help); records an older release wrote may hold it\n", output.Sanitize(o.EventName))
	}
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.AuditLog(ctx)
	if err != nil {
		return err
	}
	if list := p.StreamList("AuditEvents"); list != nil {
		// Printed as read, a record at a time, the bytes Print writes (a
		// log of 70,000 records held whole took 646 MB: scale tester).
		page, err := svc.ListEach(ctx, q, func(r *auditrec.Record) error { return list.Add(wholeSeconds(r)) })
		if err != nil {
			return err
		}
		return output.EndWithNextToken(list, page.NextToken)
	}
	page, err := svc.List(ctx, q)
	if err != nil {
		return err
	}
	for _, r := range page.Records {
		wholeSeconds(r)
	}
	out := ListOutput{AuditEvents: page.Records}
	if page.NextToken != "" {
		out.NextToken = &page.NextToken
	}
	return p.Print(out, listView(out))
}

// wholeSeconds gives r's EventTime in whole seconds, as CloudTrail's
// eventTime is and every other time certctl prints: the log keeps
// nanoseconds (they order its records, which EventId and the list's order
// give too), whose varying length (a trailing zero dropped) neither sorted
// as text nor matched -o text's time (tester).
func wholeSeconds(r *auditrec.Record) *auditrec.Record {
	if t, err := time.Parse(time.RFC3339Nano, r.EventTime); err == nil {
		r.EventTime = timeutil.RFC3339(t)
	}
	return r
}

func listView(out ListOutput) output.View {
	v := output.ListView(out.AuditEvents, "No audit records.",
		[]string{"TIME", "EVENT", "ACTOR", "OUTCOME", "RESOURCES"},
		func(s *output.Styles, r *auditrec.Record) []string {
			// The time itself, as events and CloudTrail show it: an
			// incident review reads when, not how long ago (tester).
			when := r.EventTime
			actor := output.Sanitize(r.Actor.Type + " " + r.Actor.ID)
			if r.Actor.Host != "" {
				actor += s.Dim("@" + output.Sanitize(r.Actor.Host))
			}
			outcome := s.OK(r.Outcome)
			if r.Outcome != auditrec.OutcomeSuccess {
				outcome = s.Bad(r.Outcome + " " + output.Sanitize(r.ErrorCode))
			}
			ids := make([]string, len(r.Resources))
			for i, res := range r.Resources {
				ids[i] = output.Sanitize(output.ShortID(res))
			}
			return []string{when, r.EventName, actor, outcome, strings.Join(ids, ",")}
		},
		func(r *auditrec.Record) []string {
			return []string{r.EventTime, r.EventName, r.Outcome, r.Actor.Type, r.Actor.ID, strings.Join(r.Resources, ","), r.EventID}
		})
	// On a narrow terminal the event and its outcome are cut last, and
	// the others cut first (newcomer tester: at 80 columns
	// "CreateCertificateAuthorityCrl" read "CreateCertificateAuthorit…",
	// a CA's creation, and the actor "USER ro…").
	table := v.Table
	v.Table = func(s *output.Styles) *output.Table {
		t := table(s)
		t.Keep = []string{"TIME", "EVENT"}
		return t
	}
	v.NextToken = out.NextToken
	return v
}

// VerifyOptions are the inputs of audit verify.
type VerifyOptions struct {
	Printer  func() (*output.Printer, error)
	AuditLog func(context.Context) (*auditlog.Service, error)
}

// VerifyOutput is audit verify's JSON form.
type VerifyOutput struct {
	Valid          bool  `json:"Valid"`
	RecordsChecked int64 `json:"RecordsChecked"`
	// When not valid: the first record altered, removed or inserted (its
	// seq), and what is wrong with it.
	FirstBadRecord *int64 `json:"FirstBadRecord,omitempty"` // 0 when the head is missing
	Problem        string `json:"Problem,omitempty"`
}

// NewCmdVerify builds `certctl audit verify`.
func NewCmdVerify(f *cmdutil.Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{Printer: f.Printer, AuditLog: f.AuditLog}
	return &cobra.Command{
		Use:   "verify",
		Short: "Check that no audit record was altered, removed or inserted",
		Long: `Walk the whole audit chain and check every record's HMAC against its content and
the record before it, and the chain's head. Prints how many records were
checked ({"Valid":true,"RecordsChecked":N}); exits 6 naming the first record
that was altered, removed or inserted.` + cmdutil.ExitStatus(0, 2, 6),
		Example: `  certctl audit verify`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runVerify(cmd.Context(), opts)
		},
	}
}

func runVerify(ctx context.Context, o *VerifyOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.AuditLog(ctx)
	if err != nil {
		return err
	}
	n, err := svc.Verify(ctx)
	var problem *auditrec.Problem
	if errors.As(err, &problem) {
		// The report on stdout too, as vault verify prints its problems
		// (tester: -o json printed nothing there), then exit 6.
		if perr := p.Print(VerifyOutput{Valid: false, RecordsChecked: n, FirstBadRecord: &problem.Seq, Problem: problem.Error()}, output.View{
			Table: func(s *output.Styles) *output.Table {
				return &output.Table{Rows: [][]string{{s.Bad("The audit chain is broken:"), problem.Error()}}}
			},
			Records: func() [][]string {
				return [][]string{{strconv.FormatInt(n, 10), strconv.FormatInt(problem.Seq, 10), problem.Error()}}
			},
		}); perr != nil {
			return perr
		}
		return err
	}
	if err != nil {
		return err
	}
	count := strconv.FormatInt(n, 10)
	return p.Acknowledge(VerifyOutput{Valid: true, RecordsChecked: n}, output.View{
		Table: func(s *output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{{s.OK("The audit chain is whole:"), count + " records checked"}}}
		},
		Records: func() [][]string { return [][]string{{count}} },
	})
}
