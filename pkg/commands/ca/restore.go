package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/cmdutil"
)

// RestoreOptions are the inputs of `ca restore`.
type RestoreOptions struct {
	Deps

	CA string
}

// NewCmdCaRestore builds `certctl ca restore`.
func NewCmdCaRestore(f *cmdutil.Factory, runF func(*RestoreOptions) error) *cobra.Command {
	opts := &RestoreOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "restore CA",
		Short: "Restore a deleted certificate authority",
		Long: `Return a DELETED CA, within its restore window, to the status it had before deletion.

A built-in CA (the default private CA or root, the public-style root or
intermediates) whose role went to a new CA while it was deleted — the
default CA is created again on first use — comes back as an ordinary CA;
its audit record names the role (ReleasedBuiltInRole).` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCaRestore(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, cmdutil.CAInStatus(authority.StatusDeleted))
	return cmd
}

func runCaRestore(ctx context.Context, o *RestoreOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	a, err := svc.Restore(ctx, o.CA)
	if err != nil {
		return err
	}
	return printARN(p.Acknowledge, "Restored", a)
}
