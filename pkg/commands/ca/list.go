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

	All           bool
	MaxItems      int
	StartingToken string
}

// ListOutput is `ca list`'s JSON form (AWS Private CA's
// ListCertificateAuthorities).
type ListOutput struct {
	CertificateAuthorities []authorities.Description `json:"CertificateAuthorities"`
	NextToken              *string                   `json:"NextToken"`
}

// NewCmdCaList builds `certctl ca list`.
func NewCmdCaList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List certificate authorities",
		Long: `List the vault's certificate authorities, in the order of their IDs
({"CertificateAuthorities":[...],"NextToken"}, AWS Private CA's
ListCertificateAuthorities). The built-in public-style CAs are shown only with
--all. --max-items pages the list: continue with --starting-token NextToken
(with -o text on stderr, "More: --starting-token TOKEN", stdout holding the
CAs only).` + cmdutil.ExitStatus(0, 2, 4, 6),
		Example: `  certctl ca list
  certctl ca list --max-items 10 --query NextToken`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCaList(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.All, "all", false, "include the built-in public-style CAs")
	cmdutil.MaxItemsFlag(fl, &opts.MaxItems, "return at most `N` CAs and a NextToken")
	fl.StringVar(&opts.StartingToken, "starting-token", "", "continue from a previous NextToken")
	return cmd
}

func runCaList(ctx context.Context, o *ListOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	page, err := svc.List(ctx, authorities.ListInput{All: o.All, MaxItems: o.MaxItems, StartingToken: o.StartingToken})
	if err != nil {
		return err
	}
	out := ListOutput{CertificateAuthorities: page.CertificateAuthorities}
	if page.NextToken != "" {
		out.NextToken = &page.NextToken
	}
	v := output.ListView(out.CertificateAuthorities, "No certificate authorities.",
		[]string{"ID", "TYPE", "STATUS", "COMMON NAME", "KEY", "NOT AFTER"}, caRow, caRecord)
	v.NextToken = out.NextToken
	v.Table = output.WithOptional(v.Table, "KEY", "TYPE") // on a narrow terminal (tester)
	v.Table = output.WithKept(v.Table, "COMMON NAME")     // what tells the CAs apart (tester)
	return p.Print(out, v)
}
