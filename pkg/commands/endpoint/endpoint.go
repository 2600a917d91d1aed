// Package endpoint implements `certctl endpoint`: ACME endpoints (the ACM
// ACME endpoint analogue), their external account binding credentials and
// domain validations, and `endpoint serve`, the RFC 8555 server.
package endpoint

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	acmeep "github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

// NewCmdEndpoint builds `certctl endpoint`.
func NewCmdEndpoint(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoint <command>",
		Short: "Manage ACME endpoints (RFC 8555) and serve them",
		Long: `ACME endpoints let stock ACME clients (certbot, lego, uacme, dehydrated,
golang.org/x/crypto/acme) obtain certificates from the vault's public-style CA.

An endpoint has external account binding credentials (` + "`endpoint eab create`" + `),
which every ACME account must present, and domain validations (` + "`endpoint domain add`" + `):
a VALID validation of D pre-approves D, its subdomains and *.D, so orders for
those names are ready at once with no challenge. ` + "`endpoint serve`" + ` runs the HTTPS
server; its directory for each endpoint is the EndpointUrl of ` + "`endpoint describe`" + `.
Certificates issued enter the inventory with KeyPairOrigin ACME
(` + "`certctl list --certificate-key-pair-origins ACME`" + `).`,
		Example: `  certctl endpoint create --authorization-behavior PRE_APPROVED --contact NOT_REQUIRED --name lab
  certctl endpoint domain add 5f2c9e lab.internal --pre-validated
  certctl endpoint eab create 5f2c9e
  certctl ca trust-bundle > roots.pem
  certctl endpoint serve --listen 127.0.0.1:8443`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(newCmdCreate(f), newCmdDescribe(f), newCmdList(f), newCmdUpdate(f), newCmdDelete(f),
		newCmdEAB(f), newCmdDomain(f), NewCmdServe(f, nil))
	return cmd
}

// env bundles what endpoint verbs need.
type env struct {
	*cmdutil.Env
	base string
}

func open(ctx context.Context, f *cmdutil.Factory) (*env, error) {
	e, err := f.OpenEnv(ctx)
	if err != nil {
		return nil, err
	}
	return &env{Env: e, base: acmeep.BaseURL(e.Cfg.EndpointBaseURL, e.Cfg.EndpointListen)}, nil
}

// onEndpoint runs fn on the endpoint named by arg, in a write transaction
// when write is set and a read one otherwise.
func (e *env) onEndpoint(ctx context.Context, arg string, write bool, fn func(tx localstore.Tx, ep *acmeep.Endpoint) error) error {
	txn := e.V.Store.View
	if write {
		txn = e.V.Store.Update
	}
	return txn(ctx, func(tx localstore.Tx) error {
		ep, err := acmeep.Resolve(tx, arg)
		if err != nil {
			return err
		}
		return fn(tx, ep)
	})
}

func completeEndpoint(f *cmdutil.Factory) cobra.CompletionFunc {
	return f.CompleteObjects(acmeep.KindEndpoint, func(data []byte) string {
		var e acmeep.Endpoint
		if err := jsonUnmarshal(data, &e); err != nil {
			return ""
		}
		if e.Name != "" {
			return e.Name + " (" + e.Status + ")"
		}
		return e.Status
	})
}

// describeIn builds the description of e in tx.
func (e *env) describeIn(tx localstore.Tx, ep *acmeep.Endpoint) (acmeep.Description, error) {
	m, err := acmeep.GetMetrics(tx, ep.ID)
	if err != nil {
		return acmeep.Description{}, err
	}
	return acmeep.Describe(e.Names, e.base, ep, m), nil
}

func parseTagFlags(flag string, vals []string) ([]localstore.Tag, error) {
	tg, err := inventory.ParseTags(vals)
	if err != nil {
		return nil, errs.Invalidf("--%s: %v", flag, err)
	}
	return inventory.MergeTags(nil, tg)
}

func printEndpointARN(p *output.Printer, verb, a string) error {
	return p.Print(map[string]string{"AcmeEndpointArn": a}, output.View{
		Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{verb, a}}} },
		Records: func() [][]string { return [][]string{{a}} },
	})
}

func tagsString(t []localstore.Tag) string {
	s := make([]string, len(t))
	for i, x := range t {
		s[i] = inventory.TagString(x)
	}
	return strings.Join(s, ",")
}

func endpointRecord(d acmeep.Description) []string {
	return []string{d.AcmeEndpointArn, d.Name, d.Status, d.Contact,
		strings.Join(d.CertificateAuthority.PublicCertificateAuthority.AllowedKeyAlgorithms, ","), d.EndpointURL,
		fmt.Sprint(d.Metrics.CertificateIssuanceSuccess), fmt.Sprint(d.Metrics.CertificateIssuanceFailed)}
}

func idOf(a string) string { return a[strings.LastIndexByte(a, '/')+1:] }
