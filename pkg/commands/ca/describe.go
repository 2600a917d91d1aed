package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// DescribeOptions are the inputs of `ca describe`.
type DescribeOptions struct {
	Deps

	CA string
}

// NewCmdCaDescribe builds `certctl ca describe`.
func NewCmdCaDescribe(f *cmdutil.Factory, runF func(*DescribeOptions) error) *cobra.Command {
	opts := &DescribeOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "describe CA",
		Short: "Show a certificate authority",
		Long:  `Show a certificate authority with AWS Private CA's fields ({"CertificateAuthority":{...}}).` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCaDescribe(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, nil)
	return cmd
}

func runCaDescribe(ctx context.Context, o *DescribeOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	d, err := svc.Describe(ctx, o.CA)
	if err != nil {
		return err
	}
	return p.Print(map[string]authorities.Description{"CertificateAuthority": *d}, output.View{
		Table:   func(s *output.Styles) *output.Table { return describeTable(s, d) },
		Records: func() [][]string { return [][]string{caRecord(*d)} },
	})
}

func describeTable(s *output.Styles, d *authorities.Description) *output.Table {
	ts := func(x *inventory.Timestamp) string {
		if x == nil {
			return ""
		}
		return x.String()
	}
	t := &output.Table{}
	add := func(k, v string) {
		if v != "" {
			t.Rows = append(t.Rows, []string{k, v})
		}
	}
	conf := d.CertificateAuthorityConfiguration
	add("ARN", d.Arn)
	add("Type", d.Type)
	add("Status", s.Status(d.Status))
	add("Signing blocked", output.Sanitize(d.SigningBlocked))
	add("Subject", output.Sanitize(conf.Subject.Name().String()))
	add("Key algorithm", conf.KeyAlgorithm)
	add("Signing algorithm", conf.SigningAlgorithm)
	add("Key storage", d.KeyStorage)
	add("Key label", output.Sanitize(d.KeyLabel))
	add("Parent", d.ParentArn)
	add("Serial", d.Serial)
	add("Not before", ts(d.NotBefore))
	add("Not after", ts(d.NotAfter))
	add("CRL location", output.Sanitize(d.CrlDistributionPoint))
	add("OCSP location", output.Sanitize(d.OcspUrl))
	add("Created", ts(d.CreatedAt))
	add("Last state change", ts(d.LastStateChangeAt))
	add("Restorable until", ts(d.RestorableUntil))
	return t
}
