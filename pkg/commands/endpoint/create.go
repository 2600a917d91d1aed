package endpoint

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/service/endpoints"
)

// CreateOptions are the inputs of `endpoint create`.
type CreateOptions struct {
	Deps
	IO *iostreams.IOStreams

	AuthorizationBehavior string
	// ChallengeTypes narrow a CHALLENGE endpoint's challenges (nil: all).
	ChallengeTypes       []string
	Contact              string
	AllowedKeyAlgorithms []string
	CertificateTags      []string
	Tags                 []string
	Name                 string
	CertificateAuthority string
	DefaultProfile       string
}

// NewCmdCreate builds `certctl endpoint create`.
func NewCmdCreate(f *cmdutil.Factory, runF func(*CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{Deps: newDeps(f), IO: f.IO}
	var algs, challenges []string
	cmd := &cobra.Command{
		Use:   "create --authorization-behavior PRE_APPROVED|CHALLENGE --contact REQUIRED|NOT_REQUIRED",
		Short: "Create an ACME endpoint",
		Long: `Create an ACME endpoint ({"AcmeEndpointArn": ...}). --allowed-key-algorithms limits
the certificate keys finalize accepts (default all of RSA_2048, EC_prime256v1,
EC_secp384r1); --certificate-tags are put on every certificate it issues;
--contact REQUIRED rejects ACME accounts without a mailto: contact.
--certificate-authority-arn issues from a CA of the vault (made with ` + "`ca create`" + `
or ` + "`ca import`" + `, ACTIVE; its certificates are PRIVATE) instead of the built-in
public-style hierarchy; a CA that expires before a certificate of
certificate_validity (or of the default profile) would is taken with a
warning on stderr, since finalize then refuses its orders (PCA_INVALID_DURATION).
--default-profile is the profile of orders that name none (classic, tlsserver
or shortlived; default classic).

--authorization-behavior PRE_APPROVED authorizes only the names that the
endpoint's domain validations pre-approve (` + "`endpoint domain add`" + `); CHALLENGE also
offers RFC 8555 challenges (http-01, dns-01, tls-alpn-01) for the other names,
checked for real on validation.http_port, validation.tls_alpn_port and through
validation.resolvers, CAA included. --challenge-types narrows the challenges
offered (default all three); a wildcard needs dns-01.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl endpoint create --authorization-behavior PRE_APPROVED --contact REQUIRED \
      --allowed-key-algorithms EC_prime256v1,EC_secp384r1 --certificate-tags env=lab --name lab
  certctl endpoint create --authorization-behavior CHALLENGE --challenge-types http-01,dns-01 --contact NOT_REQUIRED`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckEnum("authorization-behavior", []string{opts.AuthorizationBehavior}, acmestate.AuthorizationBehaviors); err != nil {
				return err
			}
			if err := cmdutil.CheckEnum("contact", []string{opts.Contact}, acmestate.Contacts); err != nil {
				return err
			}
			if cmd.Flags().Changed("challenge-types") {
				if opts.AuthorizationBehavior != acmestate.BehaviorChallenge {
					return errs.UsageErrorf("--challenge-types needs --authorization-behavior %s", acmestate.BehaviorChallenge)
				}
				types, err := cmdutil.SplitListFlag("challenge-types", challenges, errs.ExitUsage)
				if err != nil {
					return err
				}
				opts.ChallengeTypes = types
				if err := acmestate.CheckChallengeTypes(opts.ChallengeTypes); err != nil {
					return err
				}
			}
			keyAlgs, err := cmdutil.SplitListFlag("allowed-key-algorithms", algs, errs.ExitUsage)
			if err != nil {
				return err
			}
			opts.AllowedKeyAlgorithms = keyAlgs
			if err := cmdutil.CheckEnum("allowed-key-algorithms", opts.AllowedKeyAlgorithms, acmestate.KeyAlgorithms); err != nil {
				return err
			}
			if cmd.Flags().Changed("default-profile") {
				if err := cmdutil.CheckEnum("default-profile", []string{opts.DefaultProfile}, acmestate.ProfileNames()); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return runCreate(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.AuthorizationBehavior, "authorization-behavior", "", "PRE_APPROVED or CHALLENGE")
	fl.StringArrayVar(&challenges, "challenge-types", nil, "challenge `types` a CHALLENGE endpoint offers: http-01, dns-01, tls-alpn-01 (repeatable, comma-separated; default all)")
	fl.StringVar(&opts.Contact, "contact", "", "REQUIRED or NOT_REQUIRED")
	fl.StringArrayVar(&algs, "allowed-key-algorithms", nil, "certificate key `algorithms` finalize accepts (repeatable, comma-separated)")
	fl.StringArrayVar(&opts.CertificateTags, "certificate-tags", nil, "tag put on issued certificates, `Key=K,Value=V` or K=V (repeatable)")
	fl.StringArrayVar(&opts.Tags, "tags", nil, "tag of the endpoint, `Key=K,Value=V` or K=V (repeatable)")
	fl.StringVar(&opts.Name, "name", "", "a `name` for people")
	fl.StringVar(&opts.CertificateAuthority, "certificate-authority-arn", "", "issue from this `CA` of the vault (ARN, ID, unique prefix or default)")
	fl.StringVar(&opts.DefaultProfile, "default-profile", "", "`profile` of orders that name none: classic, tlsserver or shortlived")
	_ = cmd.MarkFlagRequired("authorization-behavior")
	_ = cmd.MarkFlagRequired("contact")
	cmdutil.EnumCompletion(cmd, "authorization-behavior", acmestate.AuthorizationBehaviors)
	cmdutil.EnumCompletion(cmd, "challenge-types", acmestate.ChallengeTypes)
	cmdutil.EnumCompletion(cmd, "contact", acmestate.Contacts)
	cmdutil.EnumCompletion(cmd, "allowed-key-algorithms", acmestate.KeyAlgorithms)
	cmdutil.EnumCompletion(cmd, "default-profile", acmestate.ProfileNames())
	_ = cmd.RegisterFlagCompletionFunc("certificate-authority-arn", f.CompleteCAFlag(cmdutil.CAChoice{Keep: cmdutil.CAPrivateIssuer, Default: true}))
	cmdutil.MarkNonEmpty(fl, "certificate-authority-arn", "the default private CA")
	return cmd
}

func runCreate(ctx context.Context, o *CreateOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	a, notices, err := svc.Create(ctx, endpoints.CreateInput{Name: o.Name, AuthorizationBehavior: o.AuthorizationBehavior, ChallengeTypes: o.ChallengeTypes, Contact: o.Contact,
		AllowedKeyAlgorithms: o.AllowedKeyAlgorithms, CertificateTags: o.CertificateTags, Tags: o.Tags,
		CertificateAuthority: o.CertificateAuthority, DefaultProfile: o.DefaultProfile})
	if err != nil {
		return err
	}
	cmdutil.PrintNotices(o.IO, notices...)
	return printEndpointARN(p.Print, "Created", a)
}
