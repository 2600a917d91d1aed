// Package endpoint implements `certctl endpoint`: ACME endpoints (the ACM
// ACME endpoint analogue), their external account binding credentials and
// domain validations, and `endpoint serve`, the RFC 8555 server. Each verb
// parses its flags, makes one call to the endpoints service
// (pkg/service/endpoints) and prints what it returns.
package endpoint

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/endpoints"
)

// NewCmdEndpoint builds `certctl endpoint`.
func NewCmdEndpoint(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoint <command>",
		Short: "Manage ACME endpoints (RFC 8555) and serve them",
		Long: `ACME endpoints let stock ACME clients (certbot, lego, uacme, dehydrated,
golang.org/x/crypto/acme) obtain certificates from the vault's public-style CA,
or from a CA of the vault (` + "`endpoint create --certificate-authority-arn`" + `).

An endpoint has external account binding credentials (` + "`endpoint eab create`" + `),
which every ACME account must present, and domain validations (` + "`endpoint domain add`" + `):
a VALID validation of D pre-approves D, its subdomains and *.D, so orders for
those names are ready at once with no challenge. ` + "`endpoint serve`" + ` runs the HTTPS
server; its directory for each endpoint is the EndpointUrl of ` + "`endpoint describe`" + `.
Certificates issued enter the inventory with KeyPairOrigin ACME
(` + "`certctl list --certificate-key-pair-origins ACME`" + `).

Orders may name a profile (classic, tlsserver, or shortlived for at most 7
days; else the endpoint's --default-profile), and clients may ask when to
renew (ACME Renewal Information, RFC 9773): ` + "`endpoint renewal-window set`" + `
pulls renewals forward.`,
		Example: `  certctl endpoint create --authorization-behavior PRE_APPROVED --contact NOT_REQUIRED --name lab
  certctl endpoint domain add 5f2c9e lab.internal --pre-validated
  certctl endpoint eab create 5f2c9e
  certctl ca trust-bundle > roots.pem
  certctl endpoint serve --listen 127.0.0.1:8443`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdDescribe(f, nil), NewCmdList(f, nil), NewCmdUpdate(f, nil), NewCmdDelete(f, nil),
		NewCmdEAB(f), NewCmdDomain(f), NewCmdAccount(f), NewCmdRenewalWindow(f), NewCmdServe(f, nil))
	return cmd
}

// Deps are the dependencies of every endpoint verb, as functions that tests
// replace: the printer and the endpoints service.
type Deps struct {
	Printer   func() (*output.Printer, error)
	Endpoints func(context.Context) (*endpoints.Service, error)
}

func newDeps(f *cmdutil.Factory) Deps { return Deps{Printer: f.Printer, Endpoints: f.Endpoints} }

// open builds the printer, then the service (so that a bad -o is reported
// before the vault is opened).
func (d Deps) open(ctx context.Context) (*output.Printer, *endpoints.Service, error) {
	p, err := d.Printer()
	if err != nil {
		return nil, nil, err
	}
	svc, err := d.Endpoints(ctx)
	if err != nil {
		return nil, nil, err
	}
	return p, svc, nil
}

// printEndpointARN prints {"AcmeEndpointArn": ...} with print: Print for
// an endpoint created, Acknowledge for one deleted (-q silences it).
func printEndpointARN(print func(any, output.View) error, verb, a string) error {
	return print(map[string]string{"AcmeEndpointArn": a}, output.View{
		Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{verb, a}}} },
		Records: func() [][]string { return [][]string{{a}} },
	})
}

// printEndpoint prints one endpoint as `describe` does, with print: Print
// (describe), or Acknowledge (update, which -q silences).
func printEndpoint(print func(any, output.View) error, d acmestate.Description) error {
	return print(map[string]acmestate.Description{"AcmeEndpoint": d}, output.View{
		Table:   func(*output.Styles) *output.Table { return describeTable(d) },
		Records: func() [][]string { return [][]string{endpointRecord(d)} },
	})
}

func describeTable(d acmestate.Description) *output.Table {
	t := &output.Table{}
	add := func(k, v string) {
		if v != "" {
			t.Rows = append(t.Rows, []string{k, output.Sanitize(v)})
		}
	}
	add("ARN", d.AcmeEndpointArn)
	add("Name", d.Name)
	add("Status", d.Status)
	add("Endpoint URL", d.EndpointURL)
	add("Authorization", d.AuthorizationBehavior)
	add("Challenge types", strings.Join(d.ChallengeTypes, ", "))
	add("Contact", d.Contact)
	add("Certificate authority", d.CertificateAuthority.CAArn())
	add("Key algorithms", strings.Join(d.CertificateAuthority.AllowedKeyAlgorithms(), ", "))
	add("Default profile", d.DefaultProfile)
	add("Certificate tags", acmestate.JoinTags(d.CertificateTags))
	add("Tags", acmestate.JoinTags(d.Tags))
	if d.CreatedAt != nil {
		add("Created", d.CreatedAt.String())
	}
	if d.UpdatedAt != nil {
		add("Updated", d.UpdatedAt.String())
	}
	add("Failure reason", d.FailureReason)
	add("Issued", fmt.Sprint(d.Metrics.CertificateIssuanceSuccess))
	add("Failed", fmt.Sprint(d.Metrics.CertificateIssuanceFailed))
	return t
}

func endpointRecord(d acmestate.Description) []string {
	return []string{d.AcmeEndpointArn, d.Name, d.Status, d.Contact,
		strings.Join(d.CertificateAuthority.AllowedKeyAlgorithms(), ","), d.EndpointURL,
		fmt.Sprint(d.Metrics.CertificateIssuanceSuccess), fmt.Sprint(d.Metrics.CertificateIssuanceFailed)}
}

func idOf(a string) string { return output.ShortID(a) }

// oneEndpoint completes cmd as a verb that takes exactly one ENDPOINT
// argument into *endpoint, then runs runF (a test's) or run with opts.
func oneEndpoint[O any](f *cmdutil.Factory, cmd *cobra.Command, endpoint *string, opts *O, runF func(*O) error, run func(context.Context, *O) error) *cobra.Command {
	cmd.Args = cmdutil.ExactArgs(1, "ENDPOINT")
	cmd.ValidArgsFunction = f.CompleteEndpoint()
	cmd.RunE = func(c *cobra.Command, args []string) error {
		*endpoint = args[0]
		if runF != nil {
			return runF(opts)
		}
		return run(c.Context(), opts)
	}
	return cmd
}
