package endpoint

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	acmeep "github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/timeutil"
)

func newCmdEAB(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eab <command>",
		Short: "Manage external account binding credentials of an endpoint",
		Long: `External account binding (RFC 8555 7.3.4) credentials: every ACME account of an
endpoint must be registered with one (certbot --eab-kid/--eab-hmac-key, lego
--eab --kid/--hmac, uacme -e KID:KEY). A credential binds one account unless
created --reusable.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(newCmdEABCreate(f), newCmdEABList(f), newCmdEABRevoke(f))
	return cmd
}

func eabRecord(v acmeep.EABView) []string {
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

func newCmdEABCreate(f *cmdutil.Factory) *cobra.Command {
	var reusable bool
	var expiresIn string
	cmd := &cobra.Command{
		Use:   "create ENDPOINT [--reusable] [--expires-in D]",
		Short: "Create an EAB credential (the MAC key is shown this once)",
		Long: `Create an external account binding credential for an endpoint and print
{"ExternalAccountBinding":{KeyId MacKey AcmeEndpointArn CreatedAt ExpiresAt Reusable}}.
The MAC key (base64url) is shown only now; the vault keeps it sealed.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl endpoint eab create 5f2c9e --expires-in 7d
  certctl endpoint eab create 5f2c9e -o json --query ExternalAccountBinding.MacKey`,
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d time.Duration
			if expiresIn != "" {
				var err error
				if d, err = timeutil.ParseDuration(expiresIn); err != nil || d <= 0 {
					return errs.UsageErrorf("--expires-in: invalid duration %q", expiresIn)
				}
			}
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			sealer, err := e.V.Sealer()
			if err != nil {
				return cmdutil.VaultError(err)
			}
			var b *acmeep.EAB
			var key []byte
			err = e.onEndpoint(cmd.Context(), args[0], true, func(tx localstore.Tx, ep *acmeep.Endpoint) error {
				b, key, err = acmeep.CreateEAB(tx, sealer, ep, reusable, d, f.Now())
				return err
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			v := acmeep.ViewEAB(e.Names, b, f.Now())
			v.MacKey = acmeep.EncodeMACKey(key)
			clear(key)
			out := struct {
				KeyID           string `json:"KeyId"`
				MacKey          string `json:"MacKey"`
				AcmeEndpointArn string `json:"AcmeEndpointArn"`
				CreatedAt       any    `json:"CreatedAt"`
				ExpiresAt       any    `json:"ExpiresAt"`
				Reusable        bool   `json:"Reusable"`
			}{v.KeyID, v.MacKey, v.AcmeEndpointArn, v.CreatedAt, v.ExpiresAt, v.Reusable}
			return e.P.Print(map[string]any{"ExternalAccountBinding": out}, output.View{
				Table: func(*output.Styles) *output.Table {
					return &output.Table{Rows: [][]string{{"Key ID", v.KeyID}, {"MAC key", v.MacKey}, {"Endpoint", v.AcmeEndpointArn},
						{"Reusable", map[bool]string{true: "yes", false: "no"}[v.Reusable]}}}
				},
				Records: func() [][]string { return [][]string{{v.KeyID, v.MacKey, v.AcmeEndpointArn}} },
			})
		},
	}
	cmd.Flags().BoolVar(&reusable, "reusable", false, "allow the credential to bind any number of accounts")
	cmd.Flags().StringVar(&expiresIn, "expires-in", "", "the credential expires after this `duration` (e.g. 7d)")
	return cmd
}

func newCmdEABList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "list ENDPOINT",
		Short:             "List an endpoint's EAB credentials (never their MAC keys)",
		Long:              `List an endpoint's credentials ({"ExternalAccountBindings":[...]}) with their status (VALID, USED, EXPIRED, REVOKED).` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			out := struct {
				ExternalAccountBindings []acmeep.EABView `json:"ExternalAccountBindings"`
			}{ExternalAccountBindings: []acmeep.EABView{}}
			now := f.Now()
			err = e.onEndpoint(cmd.Context(), args[0], false, func(tx localstore.Tx, ep *acmeep.Endpoint) error {
				bs, err := acmeep.ListEAB(tx, ep.ID)
				for _, b := range bs {
					out.ExternalAccountBindings = append(out.ExternalAccountBindings, acmeep.ViewEAB(e.Names, b, now))
				}
				return err
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return e.P.Print(out, output.ListView(out.ExternalAccountBindings, "No EAB credentials.", []string{"KEY ID", "STATUS", "REUSABLE", "ACCOUNTS", "EXPIRES"},
				func(s *output.Styles, v acmeep.EABView) []string {
					exp := "never"
					if v.ExpiresAt != nil {
						exp = v.ExpiresAt.String()
					}
					return []string{v.KeyID, v.Status, map[bool]string{true: "yes", false: "no"}[v.Reusable], itoa(v.AccountCount), exp}
				}, eabRecord))
		},
	}
}

func newCmdEABRevoke(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ENDPOINT KEY_ID",
		Short: "Revoke an EAB credential",
		Long: `Revoke a credential so that no further account can be registered with it.
Accounts it already bound keep working.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(2, "ENDPOINT", "KEY_ID"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			now := f.Now()
			var v acmeep.EABView
			err = e.onEndpoint(cmd.Context(), args[0], true, func(tx localstore.Tx, ep *acmeep.Endpoint) error {
				b, err := acmeep.ResolveEAB(tx, ep, args[1])
				if err != nil {
					return err
				}
				if b.RevokedAt.IsZero() {
					b.RevokedAt = now
					if err := acmeep.PutEAB(tx, b); err != nil {
						return err
					}
				}
				v = acmeep.ViewEAB(e.Names, b, now)
				return nil
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return e.P.Print(map[string]acmeep.EABView{"ExternalAccountBinding": v}, output.View{
				Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Revoked", v.KeyID}}} },
				Records: func() [][]string { return [][]string{eabRecord(v)} },
			})
		},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
