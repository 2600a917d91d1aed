package ca

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
	caissue "github.com/certctl/certctl/pkg/ca"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
)

func newCmdCreate(f *cmdutil.Factory) *cobra.Command {
	var typ, keyAlg, subject, parent, validity string
	var external bool
	var tags []string
	cmd := &cobra.Command{
		Use:   "create --type ROOT|SUBORDINATE --key-algorithm ALG --subject CN=...,O=... [--parent CA | --external]",
		Short: "Create a certificate authority",
		Long: `Create a ROOT CA (self-signed, ACTIVE at once) or a SUBORDINATE CA, signed by a
--parent CA of the vault (ACTIVE at once) or, with --external, left
PENDING_CERTIFICATE until you import the certificate an outside CA signed for
its CSR (` + "`ca csr`, then `ca import-certificate`" + `). The CA key is generated and sealed
in the vault. --validity defaults to 10y for a root and 5y for a subordinate,
and never goes beyond the parent (PCA_INVALID_DURATION, exit 5).` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl ca create --type ROOT --key-algorithm EC_secp384r1 --subject "CN=Example Root CA,O=Example,C=US"
  certctl ca create --type SUBORDINATE --key-algorithm EC_prime256v1 --subject "CN=Example Issuing CA" --parent 5f2c9e01 --validity 3y`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckEnum("type", []string{typ}, authority.Types); err != nil {
				return err
			}
			if err := cmdutil.CheckEnum("key-algorithm", []string{keyAlg}, authority.KeyAlgorithms); err != nil {
				return err
			}
			if err := cmdutil.MutuallyExclusive(cmd.Flags(), "parent", "external"); err != nil {
				return err
			}
			if typ == authority.TypeRoot && (parent != "" || external) {
				return errs.UsageErrorf("a ROOT CA takes neither --parent nor --external")
			}
			if typ == authority.TypeSubordinate && parent == "" && !external {
				return errs.UsageErrorf("a SUBORDINATE CA needs --parent CA or --external")
			}
			subj, err := authority.ParseSubject(subject)
			if err != nil {
				return errs.Invalidf("--subject: %v", err)
			}
			var d time.Duration
			if validity != "" {
				if d, err = timeutil.ParseDuration(validity); err != nil || d <= 0 {
					return errs.UsageErrorf("--validity: invalid duration %q", validity)
				}
			}
			tg, err := inventory.ParseTags(tags)
			if err != nil {
				return err
			}
			if tg, err = inventory.MergeTags(nil, tg); err != nil {
				return err
			}
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var rec *authority.Record
			err = e.v.Store.Update(cmd.Context(), func(tx localstore.Tx) error {
				req := authority.CreateRequest{Type: typ, KeyAlgorithm: keyAlg, Subject: subj, External: external, Validity: d, Tags: tg}
				if parent != "" {
					pr, err := resolveCA(tx, e, parent)
					if err != nil {
						return err
					}
					req.ParentID = pr.ID
					if d == 0 && time.Duration(5*timeutil.Year) > pr.NotAfter.Sub(f.Now()) {
						req.Validity = pr.NotAfter.Sub(f.Now()) - time.Hour
					}
				}
				rec, err = e.svc.Create(tx, req)
				return err
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return printARN(e.p, "Created", e.names.CAARN(rec.ID))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&typ, "type", "", "ROOT or SUBORDINATE")
	fl.StringVar(&keyAlg, "key-algorithm", "", "RSA_2048, RSA_4096, EC_prime256v1 or EC_secp384r1")
	fl.StringVar(&subject, "subject", "", "subject as `CN=...,O=...,OU=...,C=...`")
	fl.StringVar(&parent, "parent", "", "parent `CA` that signs a SUBORDINATE")
	fl.BoolVar(&external, "external", false, "leave a SUBORDINATE waiting for an externally signed certificate")
	fl.StringVar(&validity, "validity", "", "validity `duration` (default 10y root, 5y subordinate)")
	fl.StringArrayVar(&tags, "tags", nil, "tag as `Key=K,Value=V` or K=V (repeatable)")
	_ = cmd.MarkFlagRequired("type")
	_ = cmd.MarkFlagRequired("key-algorithm")
	_ = cmd.MarkFlagRequired("subject")
	cmdutil.EnumCompletion(cmd, "type", authority.Types)
	cmdutil.EnumCompletion(cmd, "key-algorithm", authority.KeyAlgorithms)
	_ = cmd.RegisterFlagCompletionFunc("parent", completeCA(f))
	return cmd
}

func resolveCA(tx localstore.Tx, e *env, arg string) (*authority.Record, error) {
	return requestResolve(tx, e.svc, arg)
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List certificate authorities",
		Long: `List the vault's certificate authorities ({"CertificateAuthorities":[...]}). The
built-in public-style CAs are shown only with --all.` + cmdutil.ExitStatus(0, 2, 6),
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var recs []*authority.Record
			if err := e.v.Store.View(cmd.Context(), func(tx localstore.Tx) error {
				recs, err = authority.List(tx)
				return err
			}); err != nil {
				return cmdutil.VaultError(err)
			}
			now := f.Now()
			out := struct {
				CertificateAuthorities []Description `json:"CertificateAuthorities"`
			}{CertificateAuthorities: []Description{}}
			for _, r := range recs {
				if !all && strings.HasPrefix(r.BuiltIn, "public") {
					continue
				}
				out.CertificateAuthorities = append(out.CertificateAuthorities, describeRecord(e.names, r, now))
			}
			return e.p.Print(out, output.ListView(out.CertificateAuthorities, "No certificate authorities.",
				[]string{"ID", "TYPE", "STATUS", "COMMON NAME", "KEY", "NOT AFTER"}, caRow, caRecord))
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include the built-in public-style CAs")
	return cmd
}

func newCmdDescribe(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "describe CA",
		Short:             "Show a certificate authority",
		Long:              `Show a certificate authority with AWS Private CA's fields ({"CertificateAuthority":{...}}).` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(1, "CA"),
		ValidArgsFunction: completeCA(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, r, err := readCA(cmd.Context(), f, args[0])
			if err != nil {
				return err
			}
			d := describeRecord(e.names, r, f.Now())
			return e.p.Print(map[string]Description{"CertificateAuthority": d}, output.View{
				Table: func(s *output.Styles) *output.Table {
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
					add("ARN", d.Arn)
					add("Type", d.Type)
					add("Status", s.Status(d.Status))
					add("Subject", r.Subject.Name().String())
					add("Key algorithm", d.CertificateAuthorityConfiguration.KeyAlgorithm)
					add("Signing algorithm", d.CertificateAuthorityConfiguration.SigningAlgorithm)
					add("Parent", d.ParentArn)
					add("Serial", d.Serial)
					add("Not before", ts(d.NotBefore))
					add("Not after", ts(d.NotAfter))
					add("Created", ts(d.CreatedAt))
					add("Last state change", ts(d.LastStateChangeAt))
					add("Restorable until", ts(d.RestorableUntil))
					return t
				},
				Records: func() [][]string { return [][]string{caRecord(d)} },
			})
		},
	}
}

// readCA opens the vault and reads the CA named by arg (read-only: the
// default CA must already exist).
func readCA(ctx context.Context, f *cmdutil.Factory, arg string) (*env, *authority.Record, error) {
	e, err := open(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	var r *authority.Record
	if err := e.v.Store.View(ctx, func(tx localstore.Tx) error {
		r, err = resolveCAView(tx, e, arg)
		return err
	}); err != nil {
		return nil, nil, cmdutil.VaultError(err)
	}
	return e, r, nil
}

// resolveCAView resolves a CA in a read transaction: "default" must exist.
func resolveCAView(tx localstore.Tx, e *env, arg string) (*authority.Record, error) {
	if strings.EqualFold(arg, "default") {
		all, err := authority.List(tx)
		if err != nil {
			return nil, err
		}
		for _, r := range all {
			if r.BuiltIn == authority.BuiltInDefault && r.Status != authority.StatusDeleted {
				return r, nil
			}
		}
		return nil, errs.NotFoundf("the default private CA does not exist yet (it is created on first use)")
	}
	return resolveCA(tx, e, arg)
}

// printPEM prints PEM (or, with -o json/yaml, the JSON form).
func printPEM(e *env, data any, pemText string) error {
	if e.f.StructuredOutput() {
		return e.p.Print(data, output.View{})
	}
	_, err := io.WriteString(e.f.IO.Out, pemText)
	return err
}

func newCmdCSR(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "csr CA",
		Short: "Print the CSR of a CA waiting for an external signature",
		Long: `Print the certificate signing request of a SUBORDINATE CA created with --external
(status PENDING_CERTIFICATE), for an outside CA to sign.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Args:              cmdutil.ExactArgs(1, "CA"),
		ValidArgsFunction: completeCA(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, r, err := readCA(cmd.Context(), f, args[0])
			if err != nil {
				return err
			}
			if r.CSRPEM == "" {
				return errs.Refusedf("certificate authority %s is %s: it has no pending CSR", r.ID, r.Status).WithCode(authority.ReasonInvalidState)
			}
			return printPEM(e, map[string]string{"Csr": r.CSRPEM}, r.CSRPEM)
		},
	}
}

func newCmdImportCertificate(f *cmdutil.Factory) *cobra.Command {
	var certFile, chainFile string
	cmd := &cobra.Command{
		Use:   "import-certificate CA --certificate FILE [--certificate-chain FILE]",
		Short: "Activate a PENDING_CERTIFICATE CA with its externally signed certificate",
		Long: `Install the certificate an outside CA signed for ` + "`certctl ca csr`" + `'s request and
activate the CA. The certificate must carry the CA's key and CA:TRUE, and verify
against the chain (issuer first, root last).` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Args:              cmdutil.ExactArgs(1, "CA"),
		ValidArgsFunction: completeCA(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if certFile == "" {
				return errs.UsageErrorf("--certificate is required")
			}
			certPEM, err := cmdutil.ReadFileArg(f.IO, certFile)
			if err != nil {
				return errs.Invalidf("%v", err)
			}
			var chainPEM []byte
			if chainFile != "" {
				if chainPEM, err = cmdutil.ReadFileArg(f.IO, chainFile); err != nil {
					return errs.Invalidf("%v", err)
				}
			}
			return changeCA(cmd.Context(), f, args[0], "Activated", func(e *env, tx localstore.Tx, r *authority.Record) error {
				return e.svc.ImportCertificate(tx, r, certPEM, chainPEM)
			})
		},
	}
	cmd.Flags().StringVar(&certFile, "certificate", "", "the CA's signed certificate (PEM `file`)")
	cmd.Flags().StringVar(&chainFile, "certificate-chain", "", "its issuers, issuer first (PEM `file`)")
	return cmd
}

func newCmdIssue(f *cmdutil.Factory) *cobra.Command {
	var csrFile, template, validity string
	cmd := &cobra.Command{
		Use:   "issue CA --csr FILE --template EndEntity|SubordinateCA|RootCA --validity 365d",
		Short: "Issue a certificate from a CSR (not managed by the inventory)",
		Long: `Sign a certificate signing request, as AWS Private CA's IssueCertificate: the CSR's
signature is checked first; EndEntity makes a CA:FALSE certificate whatever the
CSR asks, with the CSR's names; SubordinateCA makes a CA certificate. The
certificate is printed as PEM (-o json: {"Certificate","CertificateChain"}); it
is not part of the inventory and is not renewed.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example:           `  certctl ca issue 5f2c9e01 --csr app.csr --template EndEntity --validity 90d > app.pem`,
		Args:              cmdutil.ExactArgs(1, "CA"),
		ValidArgsFunction: completeCA(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckEnum("template", []string{template}, authority.Templates); err != nil {
				return err
			}
			if csrFile == "" || validity == "" {
				return errs.UsageErrorf("--csr and --validity are required")
			}
			d, err := timeutil.ParseDuration(validity)
			if err != nil || d <= 0 {
				return errs.UsageErrorf("--validity: invalid duration %q", validity)
			}
			csrPEM, err := cmdutil.ReadFileArg(f.IO, csrFile)
			if err != nil {
				return errs.Invalidf("%v", err)
			}
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var issued *authority.Issued
			if _, err := e.update(cmd.Context(), args[0], func(tx localstore.Tx, r *authority.Record) error {
				issued, err = e.svc.IssueCSR(tx, r, csrPEM, template, d)
				return err
			}); err != nil {
				return err
			}
			certPEM := string(pemio.EncodeCertificatesPEM(issued.Certificate))
			chainPEM := string(pemio.EncodeCertificatesPEM(issued.Chain...))
			return printPEM(e, map[string]string{"Certificate": certPEM, "CertificateChain": chainPEM}, certPEM)
		},
	}
	cmd.Flags().StringVar(&csrFile, "csr", "", "certificate signing request (PEM or DER `file`)")
	cmd.Flags().StringVar(&template, "template", caissue.TemplateEndEntity, "EndEntity, SubordinateCA or RootCA")
	cmd.Flags().StringVar(&validity, "validity", "", "validity `duration` (e.g. 365d)")
	cmdutil.EnumCompletion(cmd, "template", authority.Templates)
	return cmd
}

func newCmdUpdate(f *cmdutil.Factory) *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:               "update CA --status ACTIVE|DISABLED",
		Short:             "Enable or disable a certificate authority",
		Long:              `Disable a CA (it refuses to issue, PCA_INVALID_STATE) or enable it again.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Args:              cmdutil.ExactArgs(1, "CA"),
		ValidArgsFunction: completeCA(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckEnum("status", []string{status}, []string{authority.StatusActive, authority.StatusDisabled}); err != nil {
				return err
			}
			return changeCA(cmd.Context(), f, args[0], "Updated", func(e *env, tx localstore.Tx, r *authority.Record) error {
				return e.svc.UpdateStatus(tx, r, status)
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "ACTIVE or DISABLED")
	_ = cmd.MarkFlagRequired("status")
	cmdutil.EnumCompletion(cmd, "status", []string{authority.StatusActive, authority.StatusDisabled})
	return cmd
}

func newCmdDelete(f *cmdutil.Factory) *cobra.Command {
	var days int
	cmd := &cobra.Command{
		Use:   "delete CA [--permanent-deletion-time-in-days 7..30]",
		Short: "Delete a certificate authority (restorable for 7 to 30 days)",
		Long: `Mark a CA DELETED. It can be restored with ` + "`certctl ca restore`" + ` for
--permanent-deletion-time-in-days (7 to 30, default 30). An ACTIVE CA must be
disabled first (exit 5).` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Args:              cmdutil.ExactArgs(1, "CA"),
		ValidArgsFunction: completeCA(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if days < 7 || days > 30 {
				return errs.UsageErrorf("--permanent-deletion-time-in-days must be 7 to 30")
			}
			return changeCA(cmd.Context(), f, args[0], "Deleted", func(e *env, tx localstore.Tx, r *authority.Record) error {
				return e.svc.Delete(tx, r, days)
			})
		},
	}
	cmd.Flags().IntVar(&days, "permanent-deletion-time-in-days", 30, "days during which the CA can be restored (7-30)")
	return cmd
}

func newCmdRestore(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "restore CA",
		Short:             "Restore a deleted certificate authority",
		Long:              `Return a DELETED CA, within its restore window, to the status it had before deletion.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Args:              cmdutil.ExactArgs(1, "CA"),
		ValidArgsFunction: completeCA(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			return changeCA(cmd.Context(), f, args[0], "Restored", func(e *env, tx localstore.Tx, r *authority.Record) error {
				return e.svc.Restore(tx, r)
			})
		},
	}
}

func newCmdCRL(f *cmdutil.Factory) *cobra.Command {
	var der bool
	cmd := &cobra.Command{
		Use:   "crl CA [--der]",
		Short: "Print a new CRL of a certificate authority",
		Long: `Sign and print a new certificate revocation list of the CA: every serial it
revoked with its reason, a CRL number above the last one, nextUpdate 7 days on.
PEM by default; --der for DER (binary, refused on a terminal).` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Example:           `  certctl ca crl 5f2c9e01 | openssl crl -text -noout`,
		Args:              cmdutil.ExactArgs(1, "CA"),
		ValidArgsFunction: completeCA(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			if der && f.IO.IsStdoutTTY() {
				return errs.UsageErrorf("refusing to write a DER CRL to a terminal: redirect it to a file")
			}
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var crl []byte
			if _, err := e.update(cmd.Context(), args[0], func(tx localstore.Tx, r *authority.Record) error {
				crl, err = e.svc.CRL(tx, r)
				return err
			}); err != nil {
				return err
			}
			if der {
				_, err := f.IO.Out.Write(crl)
				return err
			}
			p := string(pemEncode("X509 CRL", crl))
			return printPEM(e, map[string]string{"Crl": p}, p)
		},
	}
	cmd.Flags().BoolVar(&der, "der", false, "print DER instead of PEM")
	return cmd
}

func newCmdTrustBundle(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "trust-bundle",
		Short: "Print every root certificate of the vault",
		Long: `Print, as PEM, every root to trust for certificates of this vault: the built-in
public-style root, the default private root and every ACTIVE root CA (the
built-in ones are created on first use).` + cmdutil.ExitStatus(0, 2, 6),
		Example: `  certctl ca trust-bundle > /usr/local/share/ca-certificates/certctl.crt`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var bundle []byte
			if err := e.v.Store.Update(cmd.Context(), func(tx localstore.Tx) error {
				bundle, err = e.svc.TrustBundle(tx)
				return err
			}); err != nil {
				return cmdutil.VaultError(err)
			}
			return printPEM(e, map[string]string{"TrustBundle": string(bundle)}, string(bundle))
		},
	}
}

func newCmdServe(f *cmdutil.Factory) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve --listen ADDR",
		Short: "Serve CRLs and OCSP over HTTP",
		Long: `Serve every CA's CRL at /crl/<ca-uuid>.crl (DER) and an OCSP responder at /ocsp
(RFC 6960 GET and POST, nonce echoed), for the URLs that issued certificates
carry when ca.base_url is set. Runs until interrupted.` + cmdutil.ExitStatus(0, 1, 2, 6),
		Example: `  certctl config set ca.base_url http://pki.internal:8080
  certctl ca serve --listen :8080`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := open(ctx, f)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return errs.Failuref("listen on %s: %v", listen, err)
			}
			lookup := e.svc.NewLookup(func(fn func(localstore.Tx) error) error {
				return e.v.Store.View(context.Background(), fn)
			})
			srv := &http.Server{Handler: caissue.NewResponder(lookup, f.Now), ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(f.IO.ErrOut, "Serving CRLs and OCSP on http://%s\n", ln.Addr())
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
				return errs.Failuref("serve: %v", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "`address` to listen on")
	return cmd
}
