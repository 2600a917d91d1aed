package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// ListOptions are the inputs of `ca list`.
type ListOptions struct {
	Deps

	All bool
}

// ListOutput is `ca list`'s JSON form (AWS Private CA's
// ListCertificateAuthorities).
type ListOutput struct {
	CertificateAuthorities []authorities.Description `json:"CertificateAuthorities"`
}

// NewCmdCaList builds `certctl ca list`.
func NewCmdCaList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List certificate authorities",
		Long: `List the vault's certificate authorities ({"CertificateAuthorities":[...]}). The
built-in public-style CAs are shown only with --all.` + cmdutil.ExitStatus(0, 2, 6),
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCaList(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "include the built-in public-style CAs")
	return cmd
}

func runCaList(ctx context.Context, o *ListOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	cas, err := svc.List(ctx, o.All)
	if err != nil {
		return err
	}
	out := ListOutput{CertificateAuthorities: cas}
	return p.Print(out, output.ListView(out.CertificateAuthorities, "No certificate authorities.",
		[]string{"ID", "TYPE", "STATUS", "COMMON NAME", "KEY", "NOT AFTER"}, caRow, caRecord))
}
