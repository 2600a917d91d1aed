package endpoint

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/endpoints"
	"github.com/certctl/certctl/pkg/timeutil"
)

// NewCmdRenewalWindow builds `certctl endpoint renewal-window`.
func NewCmdRenewalWindow(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "renewal-window <command>",
		Short: "Set the renewal windows an endpoint suggests (ACME Renewal Information)",
		Long: `ACME Renewal Information (RFC 9773): ` + "`endpoint serve`" + ` tells ACME clients that
ask (certbot 4.1+, lego, Caddy, cert-manager, mod_md) when to renew each
certificate the endpoint issued: by default in the last third of its lifetime,
and at once for a revoked certificate. ` + "`renewal-window set`" + ` pulls renewals
forward, after an incident for example.`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdRenewalWindowSet(f, nil))
	return cmd
}

// RenewalWindowSetOptions are the inputs of `endpoint renewal-window set`.
type RenewalWindowSetOptions struct {
	Deps

	Endpoint   string
	Serial     string
	All        bool
	Start, End time.Time
}

// NewCmdRenewalWindowSet builds `certctl endpoint renewal-window set`.
func NewCmdRenewalWindowSet(f *cmdutil.Factory, runF func(*RenewalWindowSetOptions) error) *cobra.Command {
	opts := &RenewalWindowSetOptions{Deps: newDeps(f)}
	var start, end string
	cmd := &cobra.Command{
		Use:   "set ENDPOINT --serial S|--all --start T --end T",
		Short: "Set the renewal window suggested for certificates of an endpoint",
		Long: `Set the suggestedWindow that the endpoint's renewalInfo resource (RFC 9773)
returns, from --start to --end (RFC 3339 times), for the certificate the
endpoint issued with serial number --serial (hex, as ` + "`certctl describe`" + ` shows
it), or with --all for every certificate it issued so far (certificates
issued later get their own window). The window is kept in the vault, so
every ` + "`endpoint serve`" + ` on it agrees; setting one again replaces it. A
revoked certificate's window stays in the past. Prints
{"RenewalWindow":{AcmeEndpointArn CertificateArn Serial All Start End SetAt}}.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Example: `  certctl endpoint renewal-window set 5f2c9e --all --start 2026-12-03T00:00:00Z --end 2026-12-04T00:00:00Z
  certctl endpoint renewal-window set 5f2c9e --serial 4f:1a:… --start 2026-12-03T00:00:00Z --end 2026-12-03T12:00:00Z`,
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: f.CompleteEndpoint(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoint = args[0]
			fl := cmd.Flags()
			if fl.Changed("serial") && opts.All {
				return errs.UsageErrorf("--serial and --all cannot be used together")
			}
			if !fl.Changed("serial") && !opts.All {
				return errs.UsageErrorf("give --serial S or --all")
			}
			var err error
			if opts.Start, err = parseRFC3339("start", start); err != nil {
				return err
			}
			if opts.End, err = parseRFC3339("end", end); err != nil {
				return err
			}
			if !opts.End.After(opts.Start) {
				return errs.Invalidf("--end (%s) must be after --start (%s)", end, start)
			}
			if runF != nil {
				return runF(opts)
			}
			return runRenewalWindowSet(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Serial, "serial", "", "serial `number` of the certificate (hex)")
	cmdutil.MarkNonEmpty(fl, "serial", "--all")
	fl.BoolVar(&opts.All, "all", false, "every certificate the endpoint issued so far")
	fl.StringVar(&start, "start", "", "start of the window (RFC 3339 `time`)")
	fl.StringVar(&end, "end", "", "end of the window (RFC 3339 `time`)")
	_ = cmd.MarkFlagRequired("start")
	_ = cmd.MarkFlagRequired("end")
	return cmd
}

func parseRFC3339(flag, v string) (time.Time, error) {
	t, err := timeutil.ParseRFC3339(v)
	if err != nil {
		return time.Time{}, errs.Invalidf("invalid --%s %q: want an RFC 3339 time such as 2026-12-03T10:00:00Z", flag, v)
	}
	return t.UTC(), nil
}

func runRenewalWindowSet(ctx context.Context, o *RenewalWindowSetOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	v, err := svc.SetRenewalWindow(ctx, o.Endpoint, endpoints.RenewalWindowInput{Serial: o.Serial, All: o.All, Start: o.Start, End: o.End})
	if err != nil {
		return err
	}
	rec := []string{v.AcmeEndpointArn, v.CertificateArn, v.Serial, v.Start.String(), v.End.String()}
	return p.Acknowledge(map[string]endpoints.RenewalWindowView{"RenewalWindow": v}, output.View{
		Table: func(*output.Styles) *output.Table {
			t := &output.Table{Rows: [][]string{{"Endpoint", v.AcmeEndpointArn}}}
			if v.CertificateArn != "" {
				t.Rows = append(t.Rows, []string{"Certificate", v.CertificateArn}, []string{"Serial", v.Serial})
			} else {
				t.Rows = append(t.Rows, []string{"Certificates", "all issued so far"})
			}
			t.Rows = append(t.Rows, []string{"Window start", v.Start.String()}, []string{"Window end", v.End.String()})
			return t
		},
		Records: func() [][]string { return [][]string{rec} },
	})
}
