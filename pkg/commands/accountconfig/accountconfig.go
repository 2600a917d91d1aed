// Package accountconfig implements `certctl account-config get|put`.
package accountconfig

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/renewal"
)

// Output is ACM's GetAccountConfiguration shape.
type Output struct {
	ExpiryEvents renewal.AccountConfig `json:"ExpiryEvents"`
}

// NewCmdAccountConfig builds `certctl account-config`.
func NewCmdAccountConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account-config <command>",
		Short: "Show or set vault-wide settings for expiry events",
		Long:  `Show or set how many days before expiry the daily Certificate Approaching Expiration events start (ACM's account configuration; default 45).`,
		Args:  cmdutil.NoArgs,
		RunE:  cmdutil.GroupRunE,
	}
	print := func(e *cmdutil.Env, c renewal.AccountConfig) error {
		n := strconv.Itoa(c.DaysBeforeExpiry)
		return e.P.Print(Output{ExpiryEvents: c}, output.View{
			Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Days before expiry", n}}} },
			Records: func() [][]string { return [][]string{{n}} },
		})
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "get",
		Short: "Show the account configuration",
		Long:  `Show the account configuration ({"ExpiryEvents":{"DaysBeforeExpiry":N}}).` + cmdutil.ExitStatus(0, 2, 6),
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := f.OpenEnv(cmd.Context())
			if err != nil {
				return err
			}
			var c renewal.AccountConfig
			if err := e.V.Store.View(cmd.Context(), func(tx localstore.Tx) error {
				c, err = renewal.GetAccountConfig(tx)
				return err
			}); err != nil {
				return cmdutil.VaultError(err)
			}
			return print(e, c)
		},
	})
	var days int
	put := &cobra.Command{
		Use:   "put --days-before-expiry N",
		Short: "Set when Approaching Expiration events start",
		Long:  `Set the number of days (1-45) before expiry from which a Certificate Approaching Expiration event is emitted daily by ` + "`renew --due`" + `.` + cmdutil.ExitStatus(0, 2, 4, 6),
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("days-before-expiry") {
				return errs.UsageErrorf("--days-before-expiry is required")
			}
			e, err := f.OpenEnv(cmd.Context())
			if err != nil {
				return err
			}
			c := renewal.AccountConfig{DaysBeforeExpiry: days}
			if err := e.V.Store.Update(cmd.Context(), func(tx localstore.Tx) error {
				return renewal.PutAccountConfig(tx, c)
			}); err != nil {
				return cmdutil.VaultError(err)
			}
			return print(e, c)
		},
	}
	put.Flags().IntVar(&days, "days-before-expiry", renewal.DefaultDaysBeforeExpiry, "days before expiry (1-45)")
	cmd.AddCommand(put)
	return cmd
}
