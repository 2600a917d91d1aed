package endpoint

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/output"
)

// DescribeOptions are the inputs of `endpoint describe`.
type DescribeOptions struct {
	Deps

	Endpoint string
}

// NewCmdDescribe builds `certctl endpoint describe`.
func NewCmdDescribe(f *cmdutil.Factory, runF func(*DescribeOptions) error) *cobra.Command {
	opts := &DescribeOptions{Deps: newDeps(f)}
	return oneEndpoint(f, &cobra.Command{
		Use:   "describe ENDPOINT",
		Short: "Show an ACME endpoint",
		Long: `Show an ACME endpoint ({"AcmeEndpoint":{...}}) with its URL and issuance counters:
Metrics.CertificateIssuanceSuccess counts the certificates issued,
CertificateIssuanceFailed the orders whose finalize was refused (a CSR the
endpoint does not take, a refusal of the CA); an order that ends invalid
before it is finalized (a failed challenge, a deactivated authorization)
counts in neither. The same counters are in /metrics, certctl metrics and
the dashboard.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
	}, &opts.Endpoint, opts, runF, runDescribe)
}

func runDescribe(ctx context.Context, o *DescribeOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	d, err := svc.Describe(ctx, o.Endpoint)
	if err != nil {
		return err
	}
	return printEndpoint(p.Print, d)
}

// ListOptions are the inputs of `endpoint list`.
type ListOptions struct {
	Deps
}

// NewCmdList builds `certctl endpoint list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{Deps: newDeps(f)}
	return &cobra.Command{
		Use:   "list",
		Short: "List ACME endpoints",
		Long:  `List the vault's ACME endpoints ({"AcmeEndpoints":[...]}).` + cmdutil.ExitStatus(0, 2, 6),
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runList(cmd.Context(), opts)
		},
	}
}

func runList(ctx context.Context, o *ListOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	eps, err := svc.List(ctx)
	if err != nil {
		return err
	}
	out := struct {
		AcmeEndpoints []acmestate.Description `json:"AcmeEndpoints"`
	}{AcmeEndpoints: eps}
	view := output.ListView(out.AcmeEndpoints, "No ACME endpoints.", []string{"ID", "NAME", "STATUS", "CONTACT", "ISSUED", "FAILED", "URL"},
		func(s *output.Styles, d acmestate.Description) []string {
			return []string{idOf(d.AcmeEndpointArn), output.Sanitize(d.Name), s.Status(d.Status), d.Contact,
				fmt.Sprint(d.Metrics.CertificateIssuanceSuccess), fmt.Sprint(d.Metrics.CertificateIssuanceFailed), d.EndpointURL}
		}, endpointRecord)
	// On a narrow terminal the URL (cut last: it is what certbot
	// --server takes) shows before the counts and the contact (tester).
	view.Table = output.WithOptional(view.Table, "CONTACT", "FAILED", "ISSUED")
	return p.Print(out, view)
}
