package endpoint

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/output"
)

// NewCmdAccount builds `certctl endpoint account`.
func NewCmdAccount(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account <command>",
		Short: "List and deactivate the ACME accounts of an endpoint",
		Long: `The ACME accounts registered at an endpoint, each bound by an external account
binding credential (EabKeyId). A deactivated account's every further request is
refused (unauthorized); ` + "`endpoint eab revoke --deactivate-accounts`" + ` deactivates
all the accounts a credential bound.`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdAccountList(f, nil), NewCmdAccountDeactivate(f, nil))
	return cmd
}

func accountRecord(v acmestate.AccountView) []string {
	created := ""
	if v.CreatedAt != nil {
		created = v.CreatedAt.String()
	}
	return []string{v.AccountID, v.Status, strings.Join(v.Contact, ","), created, v.EabKeyID, strconv.Itoa(v.Orders)}
}

// AccountListOptions are the inputs of `endpoint account list`.
type AccountListOptions struct {
	Deps

	Endpoint string
}

// NewCmdAccountList builds `certctl endpoint account list`.
func NewCmdAccountList(f *cmdutil.Factory, runF func(*AccountListOptions) error) *cobra.Command {
	opts := &AccountListOptions{Deps: newDeps(f)}
	return oneEndpoint(f, &cobra.Command{
		Use:   "list ENDPOINT",
		Short: "List an endpoint's ACME accounts",
		Long: `List an endpoint's ACME accounts, oldest first:
{"AcmeAccounts":[{AccountId Status Contact CreatedAt EabKeyId Orders}]}, Status VALID
or DEACTIVATED, Orders the number of its orders the vault keeps (expired orders
are swept a day after they expire).` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Example: `  certctl endpoint account list 5f2c9e --query 'AcmeAccounts[?EabKeyId==` + "`0a1b2c3d-…`" + `].AccountId'`,
	}, &opts.Endpoint, opts, runF, runAccountList)
}

func runAccountList(ctx context.Context, o *AccountListOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	as, err := svc.ListAccounts(ctx, o.Endpoint)
	if err != nil {
		return err
	}
	out := struct {
		AcmeAccounts []acmestate.AccountView `json:"AcmeAccounts"`
	}{AcmeAccounts: as}
	return p.Print(out, output.ListView(out.AcmeAccounts, "No ACME accounts.", []string{"ACCOUNT ID", "STATUS", "CONTACT", "EAB KEY ID", "ORDERS"},
		func(s *output.Styles, v acmestate.AccountView) []string {
			return []string{v.AccountID, v.Status, output.Sanitize(strings.Join(v.Contact, ", ")), output.Sanitize(v.EabKeyID), strconv.Itoa(v.Orders)}
		}, accountRecord))
}

// AccountDeactivateOptions are the inputs of `endpoint account deactivate`.
type AccountDeactivateOptions struct {
	Deps

	Endpoint string
	Account  string
}

// NewCmdAccountDeactivate builds `certctl endpoint account deactivate`.
func NewCmdAccountDeactivate(f *cmdutil.Factory, runF func(*AccountDeactivateOptions) error) *cobra.Command {
	opts := &AccountDeactivateOptions{Deps: newDeps(f)}
	return &cobra.Command{
		Use:   "deactivate ENDPOINT ACCOUNT",
		Short: "Deactivate an ACME account",
		Long: `Deactivate an ACME account (its ID, a unique prefix of it, or its account URL)
and print {"AcmeAccount":{…}}: every further request signed by its key is refused
(unauthorized), as RFC 8555 7.3.6 has it for an account its holder deactivated.
Certificates it obtained stay valid; revoke them with ` + "`certctl revoke`" + `. Permanent.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Example:           `  certctl endpoint account deactivate 5f2c9e 7d1e4a`,
		Args:              cmdutil.ExactArgs(2, "ENDPOINT", "ACCOUNT"),
		ValidArgsFunction: f.CompleteEndpointAccount(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoint, opts.Account = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runAccountDeactivate(cmd.Context(), opts)
		},
	}
}

func runAccountDeactivate(ctx context.Context, o *AccountDeactivateOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	v, err := svc.DeactivateAccount(ctx, o.Endpoint, o.Account)
	if err != nil {
		return err
	}
	return p.Acknowledge(map[string]acmestate.AccountView{"AcmeAccount": v}, output.View{
		Table: func(*output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{{"Deactivated", v.AccountID}}}
		},
		Records: func() [][]string { return [][]string{accountRecord(v)} },
	})
}
