// Package ca implements the `certctl ca` command group: the built-in
// certificate authority (the AWS Private CA analogue).
package ca

import (
	"context"
	"encoding/pem"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/request"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

// NewCmdCA builds `certctl ca`.
func NewCmdCA(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca <command>",
		Short: "Manage the vault's certificate authorities (private CA)",
		Long: `Create and run private certificate authorities, as AWS Private CA does: ROOT CAs,
SUBORDINATE CAs signed by a parent in the vault or by an external CA (ca csr,
then ca import-certificate), certificates issued from CSRs (ca issue), CRLs
(ca crl) and an OCSP/CRL responder (ca serve).

The vault also has a default private CA (a root and an issuing subordinate,
created on first use: ` + "`certctl request --certificate-authority-arn default`" + `) and a
built-in public-style hierarchy for domain-validated and ACME certificates.
` + "`certctl ca trust-bundle`" + ` prints every root to trust.`,
		Args: cmdutil.NoArgs,
	}
	cmd.AddCommand(newCmdCreate(f), newCmdList(f), newCmdTrustBundle(f), newCmdServe(f))
	// Verbs on one CA also take it as --certificate-authority-arn, as AWS
	// Private CA's CLI does.
	for _, c := range []*cobra.Command{newCmdDescribe(f), newCmdCSR(f), newCmdImportCertificate(f),
		newCmdIssue(f), newCmdUpdate(f), newCmdDelete(f), newCmdRestore(f), newCmdCRL(f)} {
		cmd.AddCommand(cmdutil.WithIDAlias(c, "certificate-authority-arn", "CA"))
	}
	return cmd
}

// env is what every CA verb needs.
type env struct {
	f     *cmdutil.Factory
	p     *output.Printer
	v     *localstore.Vault
	svc   *authority.Service
	names inventory.Names
}

func open(ctx context.Context, f *cmdutil.Factory) (*env, error) {
	e, err := f.OpenEnv(ctx)
	if err != nil {
		return nil, err
	}
	return &env{f: f, p: e.P, v: e.V, svc: e.Authority, names: e.Names}, nil
}

// changeCA opens the vault, runs fn on the CA named by arg in a write
// transaction, and prints {"CertificateAuthorityArn"} with verb.
func changeCA(ctx context.Context, f *cmdutil.Factory, arg, verb string, fn func(e *env, tx localstore.Tx, r *authority.Record) error) error {
	e, err := open(ctx, f)
	if err != nil {
		return err
	}
	r, err := e.update(ctx, arg, func(tx localstore.Tx, r *authority.Record) error { return fn(e, tx, r) })
	if err != nil {
		return err
	}
	return printARN(e.p, verb, e.names.CAARN(r.ID))
}

// update runs fn on the CA named by arg in a write transaction.
func (e *env) update(ctx context.Context, arg string, fn func(tx localstore.Tx, r *authority.Record) error) (*authority.Record, error) {
	var rec *authority.Record
	err := e.v.Store.Update(ctx, func(tx localstore.Tx) error {
		r, err := request.ResolveCA(tx, e.svc, arg)
		if err != nil {
			return err
		}
		rec = r
		return fn(tx, r)
	})
	return rec, cmdutil.VaultError(err)
}

// completeCA completes CA IDs with their common names.
func completeCA(f *cmdutil.Factory) cobra.CompletionFunc {
	return f.CompleteObjects(authority.ObjectKind, func(data []byte) string {
		r, err := authority.Decode(data)
		if err != nil {
			return ""
		}
		return r.Subject.CommonName + " (" + r.Status + ")"
	})
}

// Configuration is AWS Private CA's CertificateAuthorityConfiguration.
type Configuration struct {
	KeyAlgorithm     string            `json:"KeyAlgorithm"`
	SigningAlgorithm string            `json:"SigningAlgorithm"`
	Subject          authority.Subject `json:"Subject"`
}

// Description is AWS Private CA's CertificateAuthority.
type Description struct {
	Arn                               string               `json:"Arn"`
	Type                              string               `json:"Type"`
	Status                            string               `json:"Status"`
	ParentArn                         string               `json:"ParentArn,omitempty"`
	Serial                            string               `json:"Serial,omitempty"`
	NotBefore                         *inventory.Timestamp `json:"NotBefore,omitempty"`
	NotAfter                          *inventory.Timestamp `json:"NotAfter,omitempty"`
	CreatedAt                         *inventory.Timestamp `json:"CreatedAt,omitempty"`
	LastStateChangeAt                 *inventory.Timestamp `json:"LastStateChangeAt,omitempty"`
	RestorableUntil                   *inventory.Timestamp `json:"RestorableUntil,omitempty"`
	FailureReason                     string               `json:"FailureReason,omitempty"`
	CertificateAuthorityConfiguration Configuration        `json:"CertificateAuthorityConfiguration"`
	Tags                              []localstore.Tag     `json:"Tags,omitempty"`
}

func describeRecord(n inventory.Names, r *authority.Record, now time.Time) Description {
	return Description{
		Arn:               n.CAARN(r.ID),
		Type:              r.Type,
		Status:            r.EffectiveStatus(now),
		ParentArn:         n.CAARN(r.ParentID),
		Serial:            r.Serial,
		NotBefore:         inventory.TS(r.NotBefore),
		NotAfter:          inventory.TS(r.NotAfter),
		CreatedAt:         inventory.TS(r.CreatedAt),
		LastStateChangeAt: inventory.TS(r.LastStateChangeAt),
		RestorableUntil:   inventory.TS(r.RestorableUntil),
		FailureReason:     r.FailureReason,
		CertificateAuthorityConfiguration: Configuration{
			KeyAlgorithm: r.KeyAlgorithm, SigningAlgorithm: r.SigningAlgorithm, Subject: r.Subject,
		},
		Tags: r.Tags,
	}
}

func idOf(a string) string { return a[strings.LastIndexByte(a, '/')+1:] }

func caRow(s *output.Styles, d Description) []string {
	na := ""
	if d.NotAfter != nil {
		na = d.NotAfter.String()
	}
	return []string{idOf(d.Arn), d.Type, s.Status(d.Status), d.CertificateAuthorityConfiguration.Subject.CommonName,
		d.CertificateAuthorityConfiguration.KeyAlgorithm, na}
}

func caRecord(d Description) []string {
	na := ""
	if d.NotAfter != nil {
		na = d.NotAfter.String()
	}
	return []string{d.Arn, d.Type, d.Status, d.CertificateAuthorityConfiguration.Subject.CommonName,
		d.CertificateAuthorityConfiguration.KeyAlgorithm, na}
}

// printARN prints {"CertificateAuthorityArn": ...}.
func printARN(p *output.Printer, verb, a string) error {
	return p.Print(map[string]string{"CertificateAuthorityArn": a}, output.View{
		Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{verb, a}}} },
		Records: func() [][]string { return [][]string{{a}} },
	})
}

func requestResolve(tx localstore.Tx, svc *authority.Service, arg string) (*authority.Record, error) {
	return request.ResolveCA(tx, svc, arg)
}

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
