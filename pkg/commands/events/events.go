// Package events implements `certctl events`.
package events

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	ev "github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/timeutil"
)

// Output is the JSON form of events.
type Output struct {
	Events []*ev.Event `json:"Events"`
}

// NewCmdEvents builds `certctl events`.
func NewCmdEvents(f *cmdutil.Factory) *cobra.Command {
	var since string
	var follow bool
	var types []string
	cmd := &cobra.Command{
		Use:   "events [--since T] [--follow]",
		Short: "Show the event log (issuance, renewal, expiry, revocation)",
		Long: `Show certctl's events, in ACM's EventBridge shapes (source "certctl"):
Certificate Approaching Expiration, Certificate Expired, Certificate Available
(Action ISSUANCE, RENEWAL, IMPORT or REIMPORT), Certificate Renewal Action
Required, Certificate Revoked.

--since takes an RFC 3339 time or a duration back from now (24h, 7d).
--follow keeps printing new events, one JSON object a line, until interrupted.
The hooks.event setting names a command that receives each event as JSON on
stdin when it happens.` + cmdutil.ExitStatus(0, 2, 6),
		Example: `  certctl events --since 7d
  certctl events --follow | jq 'select(."detail-type" == "Certificate Expired")'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var t time.Time
			if since != "" {
				if parsed, err := time.Parse(time.RFC3339, since); err == nil {
					t = parsed
				} else if d, err := timeutil.ParseDuration(since); err == nil {
					t = f.Now().Add(-d)
				} else {
					return errs.UsageErrorf("--since: %q is neither an RFC 3339 time nor a duration", since)
				}
			}
			if err := cmdutil.CheckEnum("type", types, ev.DetailTypes); err != nil {
				return err
			}
			e, err := f.OpenEnv(ctx)
			if err != nil {
				return err
			}
			var last int64
			read := func() ([]*ev.Event, error) {
				var out []*ev.Event
				err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
					rows, err := tx.ListEvents(last, t, 0)
					if err != nil {
						return err
					}
					for _, r := range rows {
						last = r.Seq
						x, err := ev.Decode(r.Data)
						if err != nil {
							continue
						}
						if len(types) == 0 || contains(types, x.DetailType) {
							out = append(out, x)
						}
					}
					return nil
				})
				return out, cmdutil.VaultError(err)
			}
			evs, err := read()
			if err != nil {
				return err
			}
			if !follow {
				out := Output{Events: evs}
				if out.Events == nil {
					out.Events = []*ev.Event{}
				}
				return e.P.Print(out, view(out))
			}
			for {
				for _, x := range evs {
					if err := output.WriteJSONLine(f.IO.Out, x); err != nil {
						return err
					}
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
				if evs, err = read(); err != nil {
					return err
				}
			}
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only events from this `time` (RFC 3339) or this long ago (24h, 7d)")
	cmd.Flags().BoolVar(&follow, "follow", false, "keep printing new events, one JSON object a line")
	cmd.Flags().StringArrayVar(&types, "type", nil, "only events of this detail-type (repeatable)")
	cmdutil.EnumCompletion(cmd, "type", ev.DetailTypes)
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func view(out Output) output.View {
	detail := func(x *ev.Event) string {
		if a, ok := x.Detail["Action"]; ok {
			return "Action=" + toString(a)
		}
		if d, ok := x.Detail["DaysToExpiry"]; ok {
			return "DaysToExpiry=" + toString(d)
		}
		if r, ok := x.Detail["RenewalStatusReason"]; ok {
			return "Reason=" + toString(r)
		}
		return ""
	}
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Headers: []string{"TIME", "EVENT", "CERTIFICATE", "DETAIL"}}
			for _, x := range out.Events {
				res := strings.Join(x.Resources, ",")
				t.Rows = append(t.Rows, []string{x.Time, x.DetailType, res[strings.LastIndexByte(res, '/')+1:], detail(x)})
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
