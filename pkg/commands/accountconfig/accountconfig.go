// Package accountconfig implements `certctl account-config get|put`.
package accountconfig

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service/reports"
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
		Args:  cmdutil.GroupArgs,
		RunE:  cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdGet(f, nil))
	cmd.AddCommand(NewCmdPut(f, nil))
	return cmd
}

// GetOptions are the inputs of account-config get.
type GetOptions struct {
	Printer func() (*output.Printer, error)
	Reports func(context.Context) (*reports.Service, error)
}

// NewCmdGet builds `certctl account-config get`.
func NewCmdGet(f *cmdutil.Factory, runF func(*GetOptions) error) *cobra.Command {
	opts := &GetOptions{Printer: f.Printer, Reports: f.Reports}
	return &cobra.Command{
		Use:   "get",
		Short: "Show the account configuration",
		Long:  `Show the account configuration ({"ExpiryEvents":{"DaysBeforeExpiry":N}}).` + cmdutil.ExitStatus(0, 2, 6),
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runGet(cmd.Context(), opts)
		},
	}
}

func runGet(ctx context.Context, o *GetOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Reports(ctx)
	if err != nil {
		return err
	}
	c, err := svc.AccountConfig(ctx)
	if err != nil {
		return err
	}
	return printConfig(p.Print, c)
}

// PutOptions are the inputs of account-config put.
type PutOptions struct {
	Printer func() (*output.Printer, error)
	Reports func(context.Context) (*reports.Service, error)

	DaysBeforeExpiry int
}

// NewCmdPut builds `certctl account-config put`.
func NewCmdPut(f *cmdutil.Factory, runF func(*PutOptions) error) *cobra.Command {
	opts := &PutOptions{Printer: f.Printer, Reports: f.Reports}
	cmd := &cobra.Command{
		Use:   "put --days-before-expiry N",
		Short: "Set when Approaching Expiration events start",
		Long:  `Set the number of days (1-45) before expiry from which a Certificate Approaching Expiration event is emitted daily by ` + "`renew --due`" + `.` + cmdutil.ExitStatus(0, 2, 4, 6),
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("days-before-expiry") {
				return errs.UsageErrorf("--days-before-expiry is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return runPut(cmd.Context(), opts)
		},
	}
	// No default shown: the flag is required, and 45 is the vault's
	// default, not the flag's (tester).
	cmdutil.IntVar(cmd.Flags(), &opts.DaysBeforeExpiry, "days-before-expiry", 0, fmt.Sprintf("days before expiry (1-45; required; a vault never set uses %d)", renewal.DefaultDaysBeforeExpiry))
	return cmd
}

func runPut(ctx context.Context, o *PutOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Reports(ctx)
	if err != nil {
		return err
	}
	c, err := svc.PutAccountConfig(ctx, renewal.AccountConfig{DaysBeforeExpiry: o.DaysBeforeExpiry})
	if err != nil {
		return err
	}
	return printConfig(p.Acknowledge, c)
}

// printConfig prints the account configuration with print: the printer's
// Print (get), or its Acknowledge (put, which -q silences).
func printConfig(print func(any, output.View) error, c renewal.AccountConfig) error {
	n := strconv.Itoa(c.DaysBeforeExpiry)
	return print(Output{ExpiryEvents: c}, output.View{
		Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Days before expiry", n}}} },
		Records: func() [][]string { return [][]string{{n}} },
	})
}
