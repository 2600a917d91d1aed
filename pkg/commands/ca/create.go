package ca

import (
	"context"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// CreateOptions are the inputs of `ca create`.
type CreateOptions struct {
	Deps

	Type         string
	KeyAlgorithm string
	Subject      string
	Parent       string
	Template     string
	External     bool
	Validity     string
	Tags         []string

	SigningAlgorithm        string
	IdempotencyToken        string
	UsageMode               string
	NameConstraints         string
	RevocationConfiguration string
	KeyStorage              string
	KeyLabel                string

	// Request is the flags checked and parsed.
	Request authorities.CreateRequest
}

// NewCmdCaCreate builds `certctl ca create`.
func NewCmdCaCreate(f *cmdutil.Factory, runF func(*CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "create --type ROOT|SUBORDINATE --key-algorithm ALG --subject CN=...,O=... [--parent CA | --external]",
		Short: "Create a certificate authority",
		Long: `Create a ROOT CA (self-signed, ACTIVE at once) or a SUBORDINATE CA, signed by a
--parent CA of the vault (ACTIVE at once) or, with --external, left
PENDING_CERTIFICATE until you import the certificate an outside CA signed for
its CSR (` + "`ca csr`, then `ca import-certificate`" + `). A --parent signs with
--template SubordinateCACertificate_PathLen0..3 (as ca issue does; template
ARNs too), which sets the new CA's path length constraint; without it the CA
gets the longest path its parent allows (none under an unconstrained parent).
The CA key is generated and sealed
in the vault, or kept in a PKCS#11 token with --key-storage PKCS11 (below). --validity defaults to 10y for a root and 5y for a subordinate;
a --validity that goes beyond the parent is refused (PCA_INVALID_DURATION, exit 5),
while the default is cut to end an hour before the parent does. A certificate
starts a minute before it is signed (NotBefore = now - 60 s, for clocks a little
behind), and its validity counts from the signing.

--signing-algorithm must be of the key's family (exit 4); it defaults to
SHA256 of that family (SHA256WITHRSA or SHA256WITHECDSA), whatever the key's
size or curve. --idempotency-token T: the same token
with the same arguments within an hour returns the CA it created, with other
arguments it is refused (exit 5). --usage-mode SHORT_LIVED_CERTIFICATE: every
certificate it signs, a subordinate CA's included, lasts at most 7 days
(a longer one is refused, exit 5; under such a parent give --validity 7d or
less) and carries no CRL or OCSP location (a --revocation-configuration
enabling either is refused, exit 4).
--name-constraints file://F ({"Permitted":{"DnsNames":[],"IpRanges":[],
"EmailAddresses":[],"Uris":[]},"Excluded":{…}}) puts critical name constraints
in the CA's certificate (an --external CA's: ca issue puts them in the one it
signs for its CSR, ca import-certificate refuses one without them); certctl
itself refuses to issue a name outside them (exit 5). --revocation-configuration JSON|file://F is AWS Private CA's
{"CrlConfiguration":{"Enabled","ExpirationInDays","CustomCname","CrlType":
"COMPLETE|PARTITIONED","CrlDistributionPointExtensionConfiguration":
{"OmitExtension"},"S3BucketName","S3ObjectAcl"},"OcspConfiguration":{"Enabled",
"OcspCustomCname"}}: certificates carry http://<CustomCname>/crl/<ca-uuid>.crl
(else ca.base_url's; none with OmitExtension, the CRL still signed and served)
and the OCSP location likewise; S3BucketName and S3ObjectAcl are kept, as PCA
shows them, and used for nothing (ca serve publishes the CRLs). A PARTITIONED CRL opens a new partition every
1000 certificates; each certificate names its partition
(/crl/<ca-uuid>/<n>.crl, served by ca serve, printed by ca crl --partition N),
whose CRL carries the matching Issuing Distribution Point.

--key-storage PKCS11 generates the CA key pair inside a PKCS#11 token (an HSM,
a smart card, SoftHSM2) instead of sealing it in the vault: the private key is
sensitive and not extractable, and the vault keeps only its label
(--pkcs11-key-label, default certctl-ca-<CA UUID>) and CKA_ID. The token is
chosen by the settings pkcs11.module (the module library), pkcs11.token_label
and pkcs11.pin_file (the file holding the user PIN; the PIN is never taken on
the command line). A module that cannot be loaded, a token that is absent or
refuses the PIN exits 6 naming the setting, and leaves nothing behind. Builds
without PKCS#11 support (CGO_ENABLED=0) say so and exit 6. The key stays in
the token when the CA is deleted; remove it there (pkcs11-tool
--delete-object) once the CA is gone for good.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl ca create --type ROOT --key-algorithm EC_secp384r1 --subject "CN=Example Root CA,O=Example,C=US"
  certctl ca create --type SUBORDINATE --key-algorithm EC_prime256v1 --subject "CN=Example Issuing CA" --parent 5f2c9e01 --validity 3y
  certctl ca create --type SUBORDINATE --key-algorithm EC_prime256v1 --subject "CN=Team CA" --parent 5f2c9e01 --template SubordinateCACertificate_PathLen0
  certctl config set pkcs11.module /usr/lib/softhsm/libsofthsm2.so
  certctl config set pkcs11.token_label "CA token"
  certctl config set pkcs11.pin_file ~/.config/certctl/token.pin
  certctl ca create --type ROOT --key-algorithm EC_secp384r1 --subject "CN=HSM Root CA" --key-storage PKCS11`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.parse(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaCreate(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Type, "type", "", "ROOT or SUBORDINATE")
	fl.StringVar(&opts.KeyAlgorithm, "key-algorithm", "", "RSA_2048, RSA_3072, RSA_4096, EC_prime256v1, EC_secp384r1 or EC_secp521r1")
	fl.StringVar(&opts.SigningAlgorithm, "signing-algorithm", "", "SHA256|SHA384|SHA512 WITHRSA or WITHECDSA (default: SHA256 of the key's family)")
	fl.StringVar(&opts.IdempotencyToken, "idempotency-token", "", "same `token` and arguments within an hour: the same CA (printable ASCII, at most 64 characters)")
	cmdutil.MarkNonEmpty(fl, "idempotency-token", "a new CA every time")
	fl.StringVar(&opts.UsageMode, "usage-mode", "", "GENERAL_PURPOSE or SHORT_LIVED_CERTIFICATE")
	fl.StringVar(&opts.NameConstraints, "name-constraints", "", "name constraints `JSON` or file://F")
	_ = cmd.RegisterFlagCompletionFunc("name-constraints", cmdutil.CompleteFileURL)
	fl.StringVar(&opts.RevocationConfiguration, "revocation-configuration", "", "AWS Private CA RevocationConfiguration `JSON` or file://F")
	_ = cmd.RegisterFlagCompletionFunc("revocation-configuration", cmdutil.CompleteFileURL)
	fl.StringVar(&opts.Subject, "subject", "", "subject as `CN=...,O=...,OU=...,C=...`")
	fl.StringVar(&opts.Parent, "parent", "", "parent `CA` that signs a SUBORDINATE")
	fl.StringVar(&opts.Template, "template", "", "with --parent: the `template` the parent signs with, SubordinateCACertificate_PathLen0..3")
	fl.BoolVar(&opts.External, "external", false, "leave a SUBORDINATE waiting for an externally signed certificate")
	fl.StringVar(&opts.Validity, "validity", "", "validity `duration` (default 10y root, 5y subordinate)")
	fl.StringArrayVar(&opts.Tags, "tags", nil, "tag as `Key=K,Value=V` or K=V (repeatable)")
	fl.StringVar(&opts.KeyStorage, "key-storage", hsm.StorageVault, "where the CA key is kept: VAULT (sealed in the vault) or PKCS11 (generated in the token of the pkcs11.* settings)")
	fl.StringVar(&opts.KeyLabel, "pkcs11-key-label", "", "`label` of the key pair generated in the token (default certctl-ca-<CA UUID>)")
	_ = cmd.MarkFlagRequired("type")
	_ = cmd.MarkFlagRequired("key-algorithm")
	_ = cmd.MarkFlagRequired("subject")
	cmdutil.EnumCompletion(cmd, "type", authority.Types)
	cmdutil.EnumCompletion(cmd, "key-algorithm", authority.KeyAlgorithms)
	cmdutil.EnumCompletion(cmd, "signing-algorithm", casign.SigningAlgorithms)
	cmdutil.EnumCompletion(cmd, "usage-mode", authority.UsageModes)
	cmdutil.EnumCompletion(cmd, "key-storage", hsm.Storages)
	cmdutil.EnumCompletion(cmd, "template", authority.SubordinateTemplates)
	_ = cmd.RegisterFlagCompletionFunc("parent", f.CompleteCAFlag(cmdutil.CAChoice{Keep: cmdutil.CAPrivateIssuer}))
	return cmd
}

// parse checks the flags and fills o.Request.
func (o *CreateOptions) parse(cmd *cobra.Command) error {
	if err := cmdutil.CheckEnum("type", []string{o.Type}, authority.Types); err != nil {
		return err
	}
	if err := cmdutil.CheckEnum("key-algorithm", []string{o.KeyAlgorithm}, authority.KeyAlgorithms); err != nil {
		return err
	}
	if o.SigningAlgorithm != "" {
		if err := cmdutil.CheckEnum("signing-algorithm", []string{o.SigningAlgorithm}, casign.SigningAlgorithms); err != nil {
			return err
		}
		if !casign.SigningAlgorithmFamilyOK(o.SigningAlgorithm, o.KeyAlgorithm) {
			return errs.Invalidf("--signing-algorithm %s is not of the family of --key-algorithm %s", o.SigningAlgorithm, o.KeyAlgorithm)
		}
	}
	if o.UsageMode != "" {
		if err := cmdutil.CheckEnum("usage-mode", []string{o.UsageMode}, authority.UsageModes); err != nil {
			return err
		}
	}
	if err := cmdutil.MutuallyExclusive(cmd.Flags(), "parent", "external"); err != nil {
		return err
	}
	if err := checkKeyStorage(o.KeyStorage, o.KeyLabel); err != nil {
		return err
	}
	if o.Type == authority.TypeRoot && (o.Parent != "" || o.External) {
		return errs.UsageErrorf("a ROOT CA takes neither --parent nor --external")
	}
	if o.Type == authority.TypeSubordinate && o.Parent == "" && !o.External {
		return errs.UsageErrorf("a SUBORDINATE CA needs --parent CA or --external")
	}
	if o.Template != "" {
		if o.Parent == "" {
			return errs.UsageErrorf("--template is for a SUBORDINATE CA with --parent (the signer of an --external CA chooses its template)")
		}
		name, err := casign.CanonicalTemplate(o.Template)
		if err != nil || !slices.Contains(authority.SubordinateTemplates, name) {
			return &errs.Error{Exit: errs.ExitUsage, Err: enum.Error("--template", o.Template, authority.SubordinateTemplates)}
		}
	}
	subj, err := authority.ParseSubject(o.Subject)
	if err != nil {
		return &errs.Error{Exit: errs.ExitInvalid, Msg: "--subject", Err: err}
	}
	var d time.Duration
	if o.Validity != "" {
		if d, err = cmdutil.PositiveDuration("validity", o.Validity); err != nil {
			return err
		}
	}
	tags, err := inventory.ParseTags(o.Tags)
	if err != nil {
		return err
	}
	if tags, err = inventory.MergeTags(nil, tags); err != nil {
		return err
	}
	storage := o.KeyStorage
	if storage == hsm.StorageVault {
		storage = "" // the default: requests digest as before key storages
	}
	o.Request = authorities.CreateRequest{Type: o.Type, KeyAlgorithm: o.KeyAlgorithm, Subject: subj,
		Parent: o.Parent, Template: o.Template, External: o.External, Validity: d, Tags: tags, SigningAlgorithm: o.SigningAlgorithm,
		UsageMode: o.UsageMode, IdempotencyToken: o.IdempotencyToken, KeyStorage: storage, KeyLabel: o.KeyLabel}
	return nil
}

// checkKeyStorage checks --key-storage and that --pkcs11-key-label goes
// with PKCS11 (exit 2).
func checkKeyStorage(storage, label string) error {
	if err := cmdutil.CheckEnum("key-storage", []string{storage}, hsm.Storages); err != nil {
		return err
	}
	if label != "" && storage != hsm.StoragePKCS11 {
		return errs.UsageErrorf("--pkcs11-key-label needs --key-storage PKCS11")
	}
	return nil
}

// readDocuments reads --name-constraints and --revocation-configuration
// into o.Request (exit 4 when unreadable or malformed).
func (o *CreateOptions) readDocuments() error {
	if o.NameConstraints != "" {
		data, err := readJSONArg(o.IO, "name-constraints", o.NameConstraints)
		if err != nil {
			return err
		}
		if o.Request.NameConstraints, err = authority.ParseNameConstraints(data); err != nil {
			return err
		}
	}
	if o.RevocationConfiguration != "" {
		data, err := readJSONArg(o.IO, "revocation-configuration", o.RevocationConfiguration)
		if err != nil {
			return err
		}
		if o.Request.Revocation, err = authority.ParseRevocationConfiguration(data); err != nil {
			return err
		}
	}
	return nil
}

func runCaCreate(ctx context.Context, o *CreateOptions) error {
	if err := o.readDocuments(); err != nil {
		return err
	}
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	a, err := svc.Create(ctx, o.Request)
	if err != nil {
		return err
	}
	return printARN(p.Print, "Created", a)
}
