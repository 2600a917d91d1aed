// Package request implements `certctl request`.
package request

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/x509util"
)

// Options are the inputs of request.
type Options struct {
	Factory          *cmdutil.Factory
	DomainName       string
	SANs             []string
	ValidationMethod string
	DVOptions        []string
	KeyAlgorithm     string
	CA               string
	CertOptions      string
	IdempotencyToken string
	Tags             []string
	Wait             bool
	Timeout          string
}

// Result is request's JSON form.
type Result struct {
	CertificateArn string `json:"CertificateArn"`
}

// ValidationMethods are the methods of ISSUED-type requests.
var ValidationMethods = []string{"DNS", "EMAIL", "HTTP"}

// NewCmdRequest builds `certctl request`.
func NewCmdRequest(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "request --domain-name NAME [--subject-alternative-names NAME...] [--certificate-authority-arn CA|default]",
		Short: "Request a certificate: private (issued at once) or domain-validated",
		Long: `Request a certificate whose key pair certctl generates and keeps, sealed, in the
vault (export it with ` + "`certctl export`" + `).

With --certificate-authority-arn (a private CA of the vault, or the word default
for the vault's default private CA, created on first use) the certificate is a
PRIVATE certificate, issued at once: X.509 v3, every name in the SAN, serverAuth
and clientAuth, valid for certificate_validity (default 395d) but never beyond
the CA (PCA_INVALID_DURATION, exit 5). A DISABLED or deleted CA refuses
(PCA_INVALID_STATE, exit 5).

Without it the certificate is ISSUED-type (domain-validated): PENDING_VALIDATION
until every name is validated by --validation-method DNS (default), EMAIL or
HTTP (see certctl validate; --domain-validation-options DomainName=D,ValidationDomain=V
sends D's approval email to a superdomain V), then issued by the vault's
built-in public-style CA (serverAuth only; the key is exportable only with
--options Export=ENABLED). --wait waits for it (exit 8 after --timeout).

Names must be DNS names (exit 4 otherwise): the first is the Common Name (at
most 64 octets), every name is in the SAN, a wildcard only as the whole
leftmost label, punycode (xn--) for international names, at most
quotas.domains_per_certificate names (default 10).

The same --idempotency-token with the same arguments within an hour returns
the same ARN.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6, 8),
		Example: `  certctl request --domain-name app.internal --certificate-authority-arn default
  certctl request --domain-name www.example.test --subject-alternative-names example.test \
      --certificate-authority-arn 5f2c9e01 --key-algorithm EC_prime256v1 --tags env=prod
  ARN=$(certctl request --domain-name db.internal --certificate-authority-arn default -o text)`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.DomainName, "domain-name", "", "the certificate's first `name` (its Common Name)")
	fl.StringSliceVar(&opts.SANs, "subject-alternative-names", nil, "more `names` (repeatable or comma-separated)")
	fl.StringVar(&opts.ValidationMethod, "validation-method", "DNS", "DNS, EMAIL or HTTP (domain-validated requests)")
	fl.StringArrayVar(&opts.DVOptions, "domain-validation-options", nil, "DomainName=D,ValidationDomain=V (repeatable)")
	fl.StringVar(&opts.KeyAlgorithm, "key-algorithm", x509util.RSA2048, "RSA_2048, EC_prime256v1 or EC_secp384r1")
	fl.StringVar(&opts.CA, "certificate-authority-arn", "", "issue a PRIVATE certificate from this `CA` (ARN, UUID, prefix or default)")
	fl.StringVar(&opts.CertOptions, "options", "", "Export=ENABLED|DISABLED,CertificateTransparencyLoggingPreference=ENABLED|DISABLED")
	fl.StringVar(&opts.IdempotencyToken, "idempotency-token", "", "return the same certificate for repeated requests within an hour")
	fl.StringArrayVar(&opts.Tags, "tags", nil, "tag as `Key=K,Value=V` or K=V (repeatable)")
	fl.BoolVar(&opts.Wait, "wait", false, "wait until the certificate is issued or fails")
	fl.StringVar(&opts.Timeout, "timeout", "10m", "how long --wait waits")
	_ = cmd.MarkFlagRequired("domain-name")
	cmdutil.EnumCompletion(cmd, "validation-method", ValidationMethods)
	cmdutil.EnumCompletion(cmd, "key-algorithm", x509util.RequestKeyAlgorithms)
	_ = cmd.RegisterFlagCompletionFunc("certificate-authority-arn", f.CompleteObjects(authority.ObjectKind, caLabel))
	return cmd
}

func caLabel(data []byte) string {
	r, err := authority.Decode(data)
	if err != nil {
		return ""
	}
	return r.Subject.CommonName
}

func (o *Options) validate() error {
	if err := cmdutil.CheckEnum("key-algorithm", []string{o.KeyAlgorithm}, x509util.RequestKeyAlgorithms); err != nil {
		return err
	}
	if err := cmdutil.CheckEnum("validation-method", []string{strings.ToUpper(o.ValidationMethod)}, ValidationMethods); err != nil {
		return err
	}
	if _, _, err := parseCertOptions(o.CertOptions); err != nil {
		return err
	}
	return nil
}

// parseCertOptions parses --options into Export and CT logging values.
func parseCertOptions(s string) (export, ct string, err error) {
	if s == "" {
		return "", "", nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		v = strings.ToUpper(strings.TrimSpace(v))
		if !ok || (v != "ENABLED" && v != "DISABLED") {
			return "", "", errs.UsageErrorf("invalid --options %q: use Export=ENABLED|DISABLED,CertificateTransparencyLoggingPreference=ENABLED|DISABLED", s)
		}
		switch strings.TrimSpace(k) {
		case "Export":
			export = v
		case "CertificateTransparencyLoggingPreference":
			ct = v
		default:
			return "", "", errs.UsageErrorf("unknown option %q in --options (use Export, CertificateTransparencyLoggingPreference)", k)
		}
	}
	return export, ct, nil
}

func run(ctx context.Context, o *Options) error {
	f := o.Factory
	p, err := f.Printer()
	if err != nil {
		return err
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	names, err := dnsname.ValidateList(append([]string{o.DomainName}, cmdutil.SplitListFlag(o.SANs)...), cfg.DomainsPerCertificate)
	if err != nil {
		e := errs.Invalidf("%v", err)
		var de *dnsname.Error
		if asDNS(err, &de) && de.Code != "" {
			e = e.WithCode(de.Code)
		}
		return e
	}
	tags, err := inventory.ParseTags(o.Tags)
	if err != nil {
		return err
	}
	if tags, err = inventory.MergeTags(nil, tags); err != nil {
		return err
	}
	export, ct, _ := parseCertOptions(o.CertOptions)
	if o.CA == "" {
		return runIssued(ctx, o, names, tags, export, ct)
	}
	key, err := x509util.GenerateKey(o.KeyAlgorithm)
	if err != nil {
		return err
	}
	if export == "" {
		export = "ENABLED"
	}
	if ct == "" {
		ct = "DISABLED"
	}
	args := map[string]any{"names": names, "alg": o.KeyAlgorithm, "ca": o.CA, "export": export, "ct": ct, "tags": tags}
	v, err := f.Vault(ctx)
	if err != nil {
		return err
	}
	now := f.Now()
	svc := authority.New(v, f.Now, cfg.CABaseURL)
	var id string
	em := &events.Emitter{Region: cfg.Region, Account: cfg.Account, Now: f.Now}
	err = v.Store.Update(ctx, func(tx localstore.Tx) error {
		em.Pending = nil
		if id, err = inventory.LookupIdempotent(tx, o.IdempotencyToken, args, now); err != nil || id != "" {
			return err
		}
		caRec, err := ResolveCA(tx, svc, o.CA)
		if err != nil {
			return err
		}
		id = uuid.NewString()
		issued, err := svc.IssueLeaf(tx, caRec, authority.LeafParams{
			CertID: id, Names: names, PublicKey: key.Public(), Validity: cfg.CertificateValidity, ClientAuth: true,
		})
		if err != nil {
			return err
		}
		c := inventory.NewIssuedRecord(id, inventory.TypePrivate, caRec.ID, tags, export, ct, now)
		if err := inventory.StoreIssued(tx, v, c, issued.Certificate, issued.Chain, key, now); err != nil {
			return err
		}
		if err := em.EmitAvailable(tx, c, events.ActionIssuance); err != nil {
			return err
		}
		return inventory.RecordIdempotent(tx, o.IdempotencyToken, args, id, now)
	})
	if err != nil {
		return cmdutil.VaultError(err)
	}
	events.Deliver(ctx, cfg.EventHook, em.Pending, f.IO.ErrOut)
	arnStr := inventory.Names{Region: cfg.Region, Account: cfg.Account}.CertificateARN(id)
	return p.Print(Result{CertificateArn: arnStr}, output.View{
		Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Issued", arnStr}}} },
		Records: func() [][]string { return [][]string{{arnStr}} },
	})
}

// ResolveCA finds the CA named by arg (see authority.Resolve).
func ResolveCA(tx localstore.Tx, svc *authority.Service, arg string) (*authority.Record, error) {
	return authority.Resolve(tx, svc, arg)
}

func asDNS(err error, target **dnsname.Error) bool { return errors.As(err, target) }
