package endpoint

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/output"
)

// NewCmdEAB builds `certctl endpoint eab`.
func NewCmdEAB(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eab <command>",
		Short: "Manage external account binding credentials of an endpoint",
		Long: `External account binding (RFC 8555 7.3.4) credentials: every ACME account of an
endpoint must be registered with one (certbot --eab-kid/--eab-hmac-key, lego
--eab --kid/--hmac, uacme -e KID:KEY). A credential binds one account unless
created --reusable.`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdEABCreate(f, nil), NewCmdEABList(f, nil), NewCmdEABRevoke(f, nil))
	return cmd
}

func eabRecord(v acmestate.EABView) []string {
	exp := ""
	if v.ExpiresAt != nil {
		exp = v.ExpiresAt.String()
	}
	created := ""
	if v.CreatedAt != nil {
		created = v.CreatedAt.String()
	}
	r := []string{v.KeyID}
	if v.MacKey != "" {
		r = append(r, v.MacKey)
	}
	return append(r, v.AcmeEndpointArn, v.Status, created, exp)
}

func yesNo(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] }

// EABCreateOptions are the inputs of `endpoint eab create`.
type EABCreateOptions struct {
	Deps

	Endpoint  string
	Reusable  bool
	ExpiresIn time.Duration
}

// NewCmdEABCreate builds `certctl endpoint eab create`.
func NewCmdEABCreate(f *cmdutil.Factory, runF func(*EABCreateOptions) error) *cobra.Command {
	opts := &EABCreateOptions{Deps: newDeps(f)}
	var expiresIn string
	cmd := &cobra.Command{
		Use:   "create ENDPOINT [--reusable] [--expires-in D]",
		Short: "Create an EAB credential (the MAC key is shown this once)",
		Long: `Create an external account binding credential for an endpoint and print
{"ExternalAccountBinding":{KeyId MacKey AcmeEndpointArn CreatedAt ExpiresAt Reusable}}.
The MAC key (base64url) is shown only now; the vault keeps it sealed. Piped
(-o text): KEY_ID MAC_KEY ENDPOINT_ARN STATUS CREATED EXPIRES (empty: never).` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl endpoint eab create 5f2c9e --expires-in 7d
  certctl endpoint eab create 5f2c9e -o json --query ExternalAccountBinding.MacKey`,
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: f.CompleteEndpoint(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoint = args[0]
			opts.ExpiresIn = 0
			if expiresIn != "" {
				d, err := cmdutil.PositiveDuration("expires-in", expiresIn)
				if err != nil {
					return err
				}
				opts.ExpiresIn = d
			}
			if runF != nil {
				return runF(opts)
			}
			return runEABCreate(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Reusable, "reusable", false, "allow the credential to bind any number of accounts")
	cmd.Flags().StringVar(&expiresIn, "expires-in", "", "the credential expires after this `duration` (e.g. 7d)")
	return cmd
}

func runEABCreate(ctx context.Context, o *EABCreateOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	v, err := svc.CreateEAB(ctx, o.Endpoint, o.Reusable, o.ExpiresIn)
	if err != nil {
		return err
	}
	out := struct {
		KeyID           string `json:"KeyId"`
		MacKey          string `json:"MacKey"`
		AcmeEndpointArn string `json:"AcmeEndpointArn"`
		CreatedAt       any    `json:"CreatedAt"`
		ExpiresAt       any    `json:"ExpiresAt"`
		Reusable        bool   `json:"Reusable"`
	}{v.KeyID, v.MacKey, v.AcmeEndpointArn, v.CreatedAt, v.ExpiresAt, v.Reusable}
	return p.Print(map[string]any{"ExternalAccountBinding": out}, output.View{
		// The MAC key is shown this once: a --query that fails on it
		// prints the whole output rather than lose it.
		ShownOnce: true,
		Table: func(*output.Styles) *output.Table {
			expires := "never"
			if v.ExpiresAt != nil {
				expires = v.ExpiresAt.String()
			}
			return &output.Table{Rows: [][]string{{"Key ID", v.KeyID}, {"MAC key", v.MacKey}, {"Endpoint", v.AcmeEndpointArn},
				{"Reusable", yesNo(v.Reusable)}, {"Expires", expires}}}
		},
		// The list's columns, the MAC key second (tester: the expiry
		// was not shown).
		Records: func() [][]string { return [][]string{eabRecord(v)} },
	})
}

// EABListOptions are the inputs of `endpoint eab list`.
type EABListOptions struct {
	Deps

	Endpoint string
}

// NewCmdEABList builds `certctl endpoint eab list`.
func NewCmdEABList(f *cmdutil.Factory, runF func(*EABListOptions) error) *cobra.Command {
	opts := &EABListOptions{Deps: newDeps(f)}
	return oneEndpoint(f, &cobra.Command{
		Use:   "list ENDPOINT",
		Short: "List an endpoint's EAB credentials (never their MAC keys)",
		Long:  `List an endpoint's credentials ({"ExternalAccountBindings":[...]}) with their status (VALID, USED, EXPIRED, REVOKED).` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
	}, &opts.Endpoint, opts, runF, runEABList)
}

func runEABList(ctx context.Context, o *EABListOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	bs, err := svc.ListEAB(ctx, o.Endpoint)
	if err != nil {
		return err
	}
	out := struct {
		ExternalAccountBindings []acmestate.EABView `json:"ExternalAccountBindings"`
	}{ExternalAccountBindings: bs}
	return p.Print(out, output.ListView(out.ExternalAccountBindings, "No EAB credentials.", []string{"KEY ID", "STATUS", "REUSABLE", "ACCOUNTS", "EXPIRES"},
		func(s *output.Styles, v acmestate.EABView) []string {
			exp := "never"
			if v.ExpiresAt != nil {
				exp = v.ExpiresAt.String()
			}
			return []string{v.KeyID, v.Status, yesNo(v.Reusable), strconv.Itoa(v.AccountCount), exp}
		}, eabRecord))
}

// EABRevokeOptions are the inputs of `endpoint eab revoke`.
type EABRevokeOptions struct {
	Deps

	Endpoint           string
	KeyID              string
	DeactivateAccounts bool
}

// NewCmdEABRevoke builds `certctl endpoint eab revoke`.
func NewCmdEABRevoke(f *cmdutil.Factory, runF func(*EABRevokeOptions) error) *cobra.Command {
	opts := &EABRevokeOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "revoke ENDPOINT KEY_ID [--deactivate-accounts]",
		Short: "Revoke an EAB credential",
		Long: `Revoke a credential so that no further account can be registered with it.
Accounts it already bound keep working unless --deactivate-accounts, which
deactivates them in the same change: their next request is refused
(unauthorized). ` + "`endpoint account list`" + ` shows which accounts a credential bound.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Example:           `  certctl endpoint eab revoke 5f2c9e 0a1b2c3d --deactivate-accounts`,
		Args:              cmdutil.ExactArgs(2, "ENDPOINT", "KEY_ID"),
		ValidArgsFunction: f.CompleteEndpointEAB(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoint, opts.KeyID = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runEABRevoke(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DeactivateAccounts, "deactivate-accounts", false, "also deactivate the ACME accounts the credential bound")
	return cmd
}

func runEABRevoke(ctx context.Context, o *EABRevokeOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	v, err := svc.RevokeEAB(ctx, o.Endpoint, o.KeyID, o.DeactivateAccounts)
	if err != nil {
		return err
	}
	return p.Acknowledge(map[string]acmestate.EABView{"ExternalAccountBinding": v}, output.View{
		Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Revoked", v.KeyID}}} },
		Records: func() [][]string { return [][]string{eabRecord(v)} },
	})
}
