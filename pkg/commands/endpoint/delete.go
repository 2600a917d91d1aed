package endpoint

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/iostreams"
)

// DeleteOptions are the inputs of `endpoint delete`.
type DeleteOptions struct {
	Deps
	IO *iostreams.IOStreams

	Endpoint string
	Yes      bool
}

// NewCmdDelete builds `certctl endpoint delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{Deps: newDeps(f), IO: f.IO}
	cmd := &cobra.Command{
		Use:   "delete ENDPOINT [--yes]",
		Short: "Delete an ACME endpoint",
		Long: `Delete an endpoint with its EAB credentials, domain validations, ACME accounts,
orders and authorizations. Certificates it issued stay in the inventory.

` + cmdutil.ConfirmHelp + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: f.CompleteEndpoint(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoint = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runDelete(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runDelete(ctx context.Context, o *DeleteOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	var confirm func(string) error
	if cmdutil.ShouldConfirm(o.IO, o.Yes) {
		confirm = func(arnStr string) error {
			return cmdutil.Confirm(o.IO, "not deleted", "Delete ACME endpoint %s with its EAB credentials, domains and accounts?", arnStr)
		}
	}
	d, err := svc.Delete(ctx, o.Endpoint, confirm)
	if err != nil {
		return err
	}
	if d.StillValid > 0 {
		cmdutil.PrintNotices(o.IO, fmt.Sprintf("%d certificate(s) it issued are still valid: its clients can no longer revoke them through it; certctl revoke does (list them with certctl list --certificate-key-pair-origins ACME)", d.StillValid))
	}
	return printEndpointARN(p.Acknowledge, "Deleted", d.Arn)
}
