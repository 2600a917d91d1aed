package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// UpdateOptions are the inputs of `ca update`.
type UpdateOptions struct {
	Printer     func() (*output.Printer, error)
	Authorities func(context.Context) (*authorities.Service, error)

	CA     string
	Status string
}

// updateStatuses are the statuses `ca update` sets.
var updateStatuses = []string{authority.StatusActive, authority.StatusDisabled}

// NewCmdCaUpdate builds `certctl ca update`.
func NewCmdCaUpdate(f *cmdutil.Factory, runF func(*UpdateOptions) error) *cobra.Command {
	opts := &UpdateOptions{Printer: f.Printer, Authorities: f.Authorities}
	cmd := &cobra.Command{
		Use:   "update CA --status ACTIVE|DISABLED",
		Short: "Enable or disable a certificate authority",
		Long:  `Disable a CA (it refuses to issue, PCA_INVALID_STATE) or enable it again.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckEnum("status", []string{opts.Status}, updateStatuses); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaUpdate(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA)
	cmd.Flags().StringVar(&opts.Status, "status", "", "ACTIVE or DISABLED")
	_ = cmd.MarkFlagRequired("status")
	cmdutil.EnumCompletion(cmd, "status", updateStatuses)
	return cmd
}

func runCaUpdate(ctx context.Context, o *UpdateOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	a, err := svc.UpdateStatus(ctx, o.CA, o.Status)
	if err != nil {
		return err
	}
	return printARN(p, "Updated", a)
}
