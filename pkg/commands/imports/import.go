// Package imports implements `certctl import` and `certctl reimport`
// (import is a Go keyword, hence the package name).
package imports

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// ImportOptions are the inputs of import and reimport: their
// dependencies, as functions that tests replace, and their flag values.
type ImportOptions struct {
	IO           *iostreams.IOStreams
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)
	// Quiet is the global -q: no progress line.
	Quiet func() bool

	CertificateArn    string // reimport
	Certificate       string
	PrivateKey        string
	CertificateChain  string
	Bundle            string
	KeyPassphraseFile string
	Tags              []string
	FromDir           string
	tagsChanged       bool
}

func newImportOptions(f *cmdutil.Factory) *ImportOptions {
	return &ImportOptions{IO: f.IO, Printer: f.Printer, Certificates: f.Certificates, Quiet: func() bool { return f.Globals.Quiet }}
}

// Result is the output of import and reimport.
type Result struct {
	CertificateArn string `json:"CertificateArn"`
}

const importLong = `Import a certificate you already have, with its private key and chain, into the
vault. The key is sealed in the vault; the certificate becomes an IMPORTED
certificate of the inventory (not renewed by certctl, as in ACM).

Files are PEM. Each file argument takes a path, - for stdin, or file://P and
fileb://P as in the AWS CLI. --bundle takes one PEM file holding the
certificate, its chain and its key, and splits it.

Rejected, with a message naming the rule (exit 4): a certificate that is not
X.509 v3, is signed with MD5 or SHA-1, is not yet valid or expired, or names
nothing (no Common Name and no DNS, IP, email or URI name); a key that does not match it, is encrypted
(give --private-key-passphrase-file), is larger than 5,120 bytes, or uses an
algorithm other than RSA_1024/2048/3072/4096 or EC P-256/P-384/P-521; a chain
that is not PEM, is out of order or holds the certificate itself.

--from-dir DIR imports every certificate found under DIR (.pem, .crt, .cer,
.cert and .der files): name.* beside name.key, name-key.pem or name.key.pem;
cert.* and fullchain.* also beside key.pem, key.key or privkey.pem (certbot's
cert.pem or fullchain.pem, privkey.pem and chain.pem, in any directory: one
certificate when both cert.pem and fullchain.pem are there); else
beside another name.* file that holds a PRIVATE KEY block and no certificate
(name.crt and name.pem); a bundle per file; certbot's live/<name>/ layout (not
its archive/), lego's .lego/certificates/ (name.crt,
name.key and name.issuer.crt; not the archives/ of what lego revoked) and mkcert's CAROOT (rootCA.pem with rootCA-key.pem becomes
a CA of the vault, ACTIVE, that request --certificate-authority-arn can issue
from). A certificate with no key found is reported FAILED, naming the key
files looked for; a DER one FAILED, with the openssl command that converts it;
files of other names (README, .txt) are ignored. A file of CA certificates
without a key (ca.crt, name.chain.pem) is the
chain of the certificates beside it that it certifies, not one to import (a
self-signed certificate without keyCertSign — openssl req -x509's — that
certifies none is FAILED, as a certificate with no key; a root or client CA
that certifies none is passed over, with a note); so is
a CA certificate with its key beside it that certifies another certificate
there (cfssl's ca.pem and ca-key.pem), which is named, with the ca import
command that makes it a CA of the vault. It is
a sync: run it again and a file imported before (the same path)
is SKIPPED when it did not change, REIMPORTED under its ARN as a new version
when it changed and still names the same domains, and IMPORTED anew
otherwise (--tags go on new imports only); syncs of one directory that overlap
(cron runs) import each file once. --private-key-passphrase-file decrypts the
encrypted keys found (one passphrase for all; keys not encrypted are read as
they are). It shows its progress on a terminal's stderr
(none with -q), a status per file (IMPORTED REIMPORTED SKIPPED FAILED NOT_DONE) and a
summary line, and exits 7 when some files failed; with -q (a cron sync),
whatever -o, only the files something happened to are printed (not
SKIPPED ones), and no summary, unless a --query asks for its answer. Interrupted (Ctrl-C, or
SIGTERM as systemctl stop sends), it imports no other file, reports every
file so far and those not reached as NOT_DONE, and exits 7 (not when no file
was left); running it again finishes the sync.`

// NewCmdImport builds `certctl import`.
func NewCmdImport(f *cmdutil.Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := newImportOptions(f)
	cmd := &cobra.Command{
		Use:   "import --certificate FILE --private-key FILE [--certificate-chain FILE]",
		Short: "Import a certificate and its private key",
		Long:  importLong + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6, 7),
		Example: `  certctl import --certificate cert.pem --private-key key.pem --certificate-chain chain.pem
  certctl import --bundle fullbundle.pem --tags env=prod
  cat cert.pem | certctl import --certificate - --private-key file://key.pem
  certctl import --from-dir /etc/letsencrypt
  certctl import --from-dir ~/.lego
  certctl import --from-dir "$(mkcert -CAROOT)"`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.tagsChanged = cmd.Flags().Changed("tags")
			if err := opts.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			switch {
			case opts.FromDir != "":
				return runImportDir(cmd.Context(), opts)
			case opts.CertificateArn != "":
				return runReimport(cmd.Context(), opts)
			}
			return runImport(cmd.Context(), opts)
		},
	}
	addMaterialFlags(cmd, opts)
	cmd.Flags().StringArrayVar(&opts.Tags, "tags", nil, "tag as `Key=K,Value=V` or K=V (repeatable)")
	cmd.Flags().StringVar(&opts.CertificateArn, "certificate-arn", "", "reimport into this certificate (as in the AWS CLI)")
	cmd.Flags().StringVar(&opts.FromDir, "from-dir", "", "import every certificate found under `DIR`")
	_ = cmd.MarkFlagDirname("from-dir")
	_ = cmd.RegisterFlagCompletionFunc("certificate-arn", f.CompleteCertificates)
	return cmd
}

func addMaterialFlags(cmd *cobra.Command, opts *ImportOptions) {
	fl := cmd.Flags()
	fl.StringVar(&opts.Certificate, "certificate", "", "certificate PEM `file`")
	fl.StringVar(&opts.PrivateKey, "private-key", "", "private key PEM `file`")
	fl.StringVar(&opts.CertificateChain, "certificate-chain", "", "chain PEM `file` (issuer first)")
	fl.StringVar(&opts.Bundle, "bundle", "", "one PEM `file` holding certificate, chain and key")
	cmdutil.KeyPassphraseFlag(cmd, &opts.KeyPassphraseFile)
	for _, n := range []string{"certificate", "private-key", "certificate-chain", "bundle"} {
		_ = cmd.MarkFlagFilename(n)
	}
}

func (o *ImportOptions) validate(cmd *cobra.Command) error {
	fl := cmd.Flags()
	if o.FromDir != "" {
		for _, n := range []string{"certificate", "private-key", "certificate-chain", "bundle", "certificate-arn"} {
			if err := cmdutil.MutuallyExclusive(fl, "from-dir", n); err != nil {
				return err
			}
		}
		return nil
	}
	if err := cmdutil.MutuallyExclusive(fl, "bundle", "certificate"); err != nil {
		return err
	}
	if err := cmdutil.MutuallyExclusive(fl, "bundle", "certificate-chain"); err != nil {
		return err
	}
	if o.Bundle == "" {
		if o.Certificate == "" {
			return errs.UsageErrorf("--certificate is required (or --bundle, or --from-dir)")
		}
		if o.PrivateKey == "" {
			return errs.UsageErrorf("--private-key is required")
		}
	}
	if o.CertificateArn != "" && o.tagsChanged {
		return errs.UsageErrorf("--tags cannot be used when reimporting (--certificate-arn): tags are kept from the certificate")
	}
	return nil
}

// readMaterial reads the files named by the options.
func (o *ImportOptions) readMaterial() (inventory.RawMaterial, error) {
	io := o.IO
	var raw inventory.RawMaterial
	read := func(flag, arg string) ([]byte, error) {
		if arg == "" {
			return nil, nil
		}
		return cmdutil.ReadFileArg(io, flag, arg)
	}
	var err error
	if raw.Bundle, err = read("bundle", o.Bundle); err != nil {
		return raw, err
	}
	raw.BundleFile = cmdutil.FileArgName(o.Bundle)
	if raw.CertificatePEM, err = read("certificate", o.Certificate); err != nil {
		return raw, err
	}
	raw.CertificateFile = cmdutil.FileArgName(o.Certificate)
	if raw.PrivateKeyPEM, err = read("private-key", o.PrivateKey); err != nil {
		return raw, err
	}
	raw.PrivateKeyFile = cmdutil.FileArgName(o.PrivateKey)
	if raw.ChainPEM, err = read("certificate-chain", o.CertificateChain); err != nil {
		return raw, err
	}
	raw.ChainFile = cmdutil.FileArgName(o.CertificateChain)
	raw.Passphrase, err = cmdutil.ReadKeyPassphrase(io, o.KeyPassphraseFile)
	return raw, err
}

func runImport(ctx context.Context, o *ImportOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	raw, err := o.readMaterial()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	arn, err := svc.Import(ctx, certificates.ImportRequest{Material: raw, Tags: o.Tags})
	if err != nil {
		return err
	}
	return printARN(p, arn, "Imported")
}

func printARN(p *output.Printer, arnStr, verb string) error {
	return p.Print(Result{CertificateArn: arnStr}, output.View{
		Table: func(s *output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{{verb, arnStr}}}
		},
		Records: func() [][]string { return [][]string{{arnStr}} },
	})
}
