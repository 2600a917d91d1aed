// Package events implements `certctl events`.
package events

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	ev "github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/reports"
	"github.com/certctl/certctl/pkg/timeutil"
)

// EventsOptions are the inputs of events: its dependencies, as functions
// that tests replace, and its flag values.
type EventsOptions struct {
	IO      *iostreams.IOStreams
	Printer func() (*output.Printer, error)
	Reports func(context.Context) (*reports.Service, error)
	Now     func() time.Time

	Since  string
	Follow bool
	Types  []string
}

// Output is the JSON form of events.
type Output struct {
	Events []*ev.Event `json:"Events"`
}

// NewCmdEvents builds `certctl events`.
func NewCmdEvents(f *cmdutil.Factory, runF func(*EventsOptions) error) *cobra.Command {
	opts := &EventsOptions{IO: f.IO, Printer: f.Printer, Reports: f.Reports, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "events [--since T] [--follow]",
		Short: "Show the event log (issuance, renewal, expiry, revocation)",
		Long: `Show certctl's events, in ACM's EventBridge shapes (source "certctl"):
Certificate Approaching Expiration, Certificate Expired, Certificate Available
(Action ISSUANCE, RENEWAL, IMPORT or REIMPORT), Certificate Renewal Action
Required, Certificate Revoked (its SerialNumber; CurrentVersion false when an
earlier version of the certificate was revoked, by ACME or ca
revoke-certificate, and the certificate itself stays ISSUED).

--since takes an RFC 3339 time or a duration back from now (24h, 7d).
--follow prints the events so far (since --since: the whole log without it),
then keeps printing new ones, one JSON object a line (-o text: one
tab-separated line, TIME EVENT CERTIFICATE DETAIL), until interrupted
(SIGINT, SIGTERM: then it exits 0, as a server does); a consumer that
restarts gives --since the time of the last event it handled and skips the
events whose id it handled already (times are whole seconds: the events of
that second are printed again).
The hooks.event setting names a command that receives each event as JSON on
stdin when it happens — each event this host's certctl processes make: on a
store shared by several hosts, --follow on one host sees every host's events.` + cmdutil.ExitStatus(0, 2, 6),
		Example: `  certctl events --since 7d
  certctl events --follow --since 1m | jq 'select(."detail-type" == "Certificate Expired")'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.RefuseEmptyFlags(cmd, "since"); err != nil {
				return err
			}
			if opts.Follow {
				// --follow prints one JSON object a line, or with -o text
				// one tab-separated line (as tail -f, journalctl -f;
				// on-call tester: refused): a --query or another format
				// would be ignored without a word.
				if cmd.Flags().Changed("query") {
					return errs.UsageErrorf("--follow prints each event as one JSON object a line and takes no --query: filter it with jq")
				}
				if fl := cmd.Flags().Lookup("output"); fl != nil && fl.Changed && fl.Value.String() != "json" && fl.Value.String() != "text" {
					return errs.UsageErrorf("--follow prints each event as one JSON object a line (or, with -o text, one tab-separated line): -o %s does not apply", fl.Value.String())
				}
			}
			if _, err := opts.query(); err != nil {
				return err
			}
			types, err := cmdutil.SplitFilterFlag("type", opts.Types)
			if err != nil {
				return err
			}
			opts.Types = types
			if err := cmdutil.CheckEnum("type", opts.Types, ev.DetailTypes); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runEvents(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Since, "since", "", "only events from this `time` (RFC 3339, or a date: its midnight UTC) or this long ago (24h, 7d)")
	cmd.Flags().BoolVar(&opts.Follow, "follow", false, "print the events so far (from --since), then new ones as they come, one JSON object a line (-o text: tab-separated)")
	cmd.Flags().StringArrayVar(&opts.Types, "type", nil, "only events of this detail-`type` (repeatable, or comma-separated): "+strings.Join(ev.DetailTypes, ", "))
	cmdutil.EnumCompletion(cmd, "type", ev.DetailTypes)
	return cmd
}

// query is the service query of the options.
func (o *EventsOptions) query() (reports.EventQuery, error) {
	q := reports.EventQuery{Types: o.Types}
	if o.Since != "" {
		t, err := timeutil.ParseSince(o.Since, o.Now())
		if err != nil {
			return q, errs.UsageErrorf("--since: %q is neither an RFC 3339 time, a date (2026-12-01) nor a duration (24h, 7d)", o.Since)
		}
		q.Since = t
	}
	return q, nil
}

func runEvents(ctx context.Context, o *EventsOptions) error {
	q, err := o.query()
	if err != nil {
		return err
	}
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Reports(ctx)
	if err != nil {
		return err
	}
	if o.Follow {
		if p.PlainText() {
			return svc.Follow(ctx, q, func(x *ev.Event) error {
				return p.WriteRecords(view(Output{Events: []*ev.Event{x}}).Records())
			})
		}
		return svc.Follow(ctx, q, func(x *ev.Event) error { return output.WriteJSONLine(o.IO.Out, x) })
	}
	evs, err := svc.Events(ctx, q)
	if err != nil {
		return err
	}
	out := Output{Events: evs}
	if out.Events == nil {
		out.Events = []*ev.Event{}
	}
	return p.Print(out, view(out))
}

func view(out Output) output.View {
	// What the event is about first: a Renewal Action Required event
	// carries DaysToExpiry too, which said nothing of the action needed
	// (on-call tester: "DaysToExpiry=0").
	detail := func(x *ev.Event) string {
		if a, ok := x.Detail["Action"]; ok {
			return "Action=" + toString(a)
		}
		var errsOf []string
		switch d := x.Detail["DeploymentErrors"].(type) {
		case []string:
			errsOf = d
		case []any:
			for _, e := range d {
				errsOf = append(errsOf, toString(e))
			}
		}
		if len(errsOf) > 0 {
			return "DeploymentErrors=" + strings.Join(errsOf, "; ")
		}
		if r, ok := x.Detail["RenewalStatusReason"]; ok {
			return "Reason=" + toString(r)
		}
		if d, ok := x.Detail["DaysToExpiry"]; ok {
			return "DaysToExpiry=" + toString(d)
		}
		return ""
	}
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			// EVENT whole, without the "Certificate " every type
			// begins with: a narrow terminal cut them all to
			// "Certifi…" (tester).
			t := &output.Table{Headers: []string{"TIME", "EVENT", "CERTIFICATE", "DETAIL"}, Keep: []string{"EVENT"}}
			for _, x := range out.Events {
				res := strings.Join(x.Resources, ",")
				t.Rows = append(t.Rows, []string{x.Time, strings.TrimPrefix(x.DetailType, "Certificate "), output.ShortID(res), output.Sanitize(detail(x))})
			}
			if len(t.Rows) == 0 {
				return &output.Table{Rows: [][]string{{"No events."}}}
			}
			return t
		},
		Records: func() [][]string {
			var rows [][]string
			for _, x := range out.Events {
				rows = append(rows, []string{x.Time, x.DetailType, strings.Join(x.Resources, ","), detail(x)})
			}
			return rows
		},
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}
