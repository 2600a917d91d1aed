package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// ImportOptions are the inputs of `ca import`.
type ImportOptions struct {
	Deps

	CertFile  string
	KeyFile   string
	ChainFile string
	Tags      []string
	// KeyPassphraseFile holds the passphrase of an encrypted KeyFile.
	KeyPassphraseFile string

	KeyStorage string
	KeyLabel   string
}

// NewCmdCaImport builds `certctl ca import`.
func NewCmdCaImport(f *cmdutil.Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "import --certificate FILE (--private-key FILE | --key-storage PKCS11 --pkcs11-key-label L) [--certificate-chain FILE] [--tags Key=K,Value=V ...]",
		Short: "Bring an existing root or subordinate CA into the vault",
		Long: `Bring a CA that exists elsewhere — made with openssl, cfssl, step, mkcert… — into
the vault, with its certificate and private key, as an ACTIVE CA that issues
like any other. The key is sealed in the vault like every other key. A
self-signed certificate becomes a ROOT CA, any other a SUBORDINATE CA; give a
subordinate's issuers with --certificate-chain (issuer first, root last) unless
its issuer is already a CA of the vault. Prints {"CertificateAuthorityArn"}.

Refused (exit 4): a certificate that is not a CA's (no basicConstraints
CA:TRUE, or no keyCertSign), a key that does not match it, an expired
certificate, a chain that does not certify it, an encrypted key without
--private-key-passphrase-file or with a passphrase that does not decrypt it
(the file's first line is the passphrase, as openssl -passin file: reads it).
A CA whose Key Usage lacks cRLSign (mkcert's root) is imported with a notice:
it cannot sign CRLs, so the certificates it issues carry no CRL distribution
point (OCSP still answers).

--key-storage PKCS11 --pkcs11-key-label L adopts a key pair already in the
PKCS#11 token of the settings pkcs11.module, pkcs11.token_label and
pkcs11.pin_file instead of a --private-key file: the key labelled L must be
the certificate's (exit 4 otherwise; no such key: exit 3), and it stays in the
token — the vault keeps only its label and CKA_ID. A token that cannot be
opened exits 6 naming the setting.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl ca import --certificate root.pem --private-key root.key
  certctl ca import --certificate sub.pem --private-key sub-key.pem --certificate-chain root.pem
  certctl ca import --certificate root.pem --private-key root-enc.key --private-key-passphrase-file pass.txt
  certctl ca import --certificate hsm-root.pem --key-storage PKCS11 --pkcs11-key-label "Root CA key"`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkKeyStorage(opts.KeyStorage, opts.KeyLabel); err != nil {
				return err
			}
			switch {
			case opts.KeyStorage == hsm.StoragePKCS11 && opts.KeyFile != "":
				return errs.UsageErrorf("--private-key and --key-storage PKCS11 cannot be used together: a PKCS11 CA's key is in the token")
			case opts.KeyStorage == hsm.StoragePKCS11 && opts.KeyPassphraseFile != "":
				return errs.UsageErrorf("--%s and --key-storage PKCS11 cannot be used together: a PKCS11 CA's key is in the token", cmdutil.KeyPassphraseFlagName)
			case opts.KeyStorage == hsm.StoragePKCS11:
				if err := cmdutil.RequireFlags("certificate", opts.CertFile, "pkcs11-key-label", opts.KeyLabel); err != nil {
					return errs.UsageErrorf("%v with --key-storage PKCS11", err)
				}
			default:
				if err := cmdutil.RequireFlags("certificate", opts.CertFile, "private-key", opts.KeyFile); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaImport(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.CertFile, "certificate", "", "the CA's certificate (PEM `file`)")
	fl.StringVar(&opts.KeyFile, "private-key", "", "the CA's private key (PEM `file`)")
	fl.StringVar(&opts.ChainFile, "certificate-chain", "", "its issuers, issuer first (PEM `file`)")
	cmdutil.KeyPassphraseFlag(cmd, &opts.KeyPassphraseFile)
	fl.StringArrayVar(&opts.Tags, "tags", nil, "tag as `Key=K,Value=V` or K=V (repeatable)")
	fl.StringVar(&opts.KeyStorage, "key-storage", hsm.StorageVault, "where the CA key is: VAULT (sealed from --private-key) or PKCS11 (already in the token)")
	fl.StringVar(&opts.KeyLabel, "pkcs11-key-label", "", "`label` of the CA's key pair in the token (with --key-storage PKCS11)")
	cmdutil.EnumCompletion(cmd, "key-storage", hsm.Storages)
	for _, n := range []string{"certificate", "private-key", "certificate-chain"} {
		_ = cmd.MarkFlagFilename(n)
	}
	return cmd
}

func runCaImport(ctx context.Context, o *ImportOptions) error {
	raw := inventory.RawMaterial{CertificateFile: o.CertFile, PrivateKeyFile: o.KeyFile, ChainFile: o.ChainFile}
	var err error
	if raw.CertificatePEM, err = cmdutil.ReadFileArg(o.IO, "certificate", o.CertFile); err != nil {
		return err
	}
	if o.KeyFile != "" {
		if raw.PrivateKeyPEM, err = cmdutil.ReadFileArg(o.IO, "private-key", o.KeyFile); err != nil {
			return err
		}
		if raw.Passphrase, err = cmdutil.ReadKeyPassphrase(o.IO, o.KeyPassphraseFile); err != nil {
			return err
		}
	}
	if o.ChainFile != "" {
		if raw.ChainPEM, err = cmdutil.ReadFileArg(o.IO, "certificate-chain", o.ChainFile); err != nil {
			return err
		}
	}
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	res, err := svc.Import(ctx, authorities.ImportRequest{Material: raw, Tags: o.Tags, KeyStorage: o.KeyStorage, KeyLabel: o.KeyLabel})
	if err != nil {
		return err
	}
	cmdutil.PrintNotices(o.IO, res.Notices...)
	return printARN(p.Print, "Imported", res.Arn)
}
