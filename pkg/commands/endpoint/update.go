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

// UpdateOptions are the inputs of `endpoint update`: a nil setting is not
// changed.
type UpdateOptions struct {
	Deps
	IO *iostreams.IOStreams

	Endpoint string
	// The settings to change, as the service takes them (nil: unchanged).
	endpoints.UpdateInput
}

// NewCmdUpdate builds `certctl endpoint update`.
func NewCmdUpdate(f *cmdutil.Factory, runF func(*UpdateOptions) error) *cobra.Command {
	opts := &UpdateOptions{Deps: newDeps(f), IO: f.IO}
	var contact, name, behavior, caRef, profile string
	var algs, certTags, challenges []string
	cmd := &cobra.Command{
		Use:   "update ENDPOINT [--authorization-behavior B] [--challenge-types T] [--contact C] [--allowed-key-algorithms A] [--certificate-tags T] [--name N] [--certificate-authority-arn CA | --public-certificate-authority] [--default-profile P]",
		Short: "Change an ACME endpoint's settings",
		Long: `Change an endpoint's authorization behaviour, challenge types, contact
requirement, allowed key algorithms, certificate tags (replaced as a whole),
name, the vault CA it issues from (--certificate-authority-arn, an ACTIVE CA;
--public-certificate-authority goes back to the built-in public-style
hierarchy; a CA that expires before a certificate of certificate_validity would
is taken with a warning on stderr, as for create, and so is a CA whose name
constraints allow no name under one of the endpoint's domains) or its default
profile
(classic, tlsserver or shortlived).
Certificates issued before keep their issuer and their renewal information.
Prints the endpoint as ` + "`describe`" + ` does. Switching to CHALLENGE without
--challenge-types offers all three types; --challenge-types alone needs a
CHALLENGE endpoint (exit 5 otherwise). An authorization offered before still
lists its challenges: one answered that the endpoint no longer offers (any,
once PRE_APPROVED) fails unchecked, its authorization and order invalid
(rejectedIdentifier, with the reason), and the client orders again.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: f.CompleteEndpoint(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoint = args[0]
			fl := cmd.Flags()
			if !fl.Changed("contact") && !fl.Changed("allowed-key-algorithms") && !fl.Changed("certificate-tags") && !fl.Changed("name") &&
				!fl.Changed("authorization-behavior") && !fl.Changed("challenge-types") &&
				!fl.Changed("certificate-authority-arn") && !fl.Changed("public-certificate-authority") && !fl.Changed("default-profile") {
				return errs.UsageErrorf("nothing to update: give --authorization-behavior, --challenge-types, --contact, --allowed-key-algorithms, --certificate-tags, --name, --certificate-authority-arn, --public-certificate-authority or --default-profile")
			}
			if fl.Changed("certificate-authority-arn") && opts.PublicCertificateAuthority {
				return errs.UsageErrorf("--certificate-authority-arn and --public-certificate-authority cannot be used together")
			}
			if fl.Changed("authorization-behavior") {
				if err := cmdutil.CheckEnum("authorization-behavior", []string{behavior}, acmestate.AuthorizationBehaviors); err != nil {
					return err
				}
				opts.AuthorizationBehavior = &behavior
			}
			if fl.Changed("challenge-types") {
				if behavior == acmestate.BehaviorPreApproved {
					return errs.UsageErrorf("--challenge-types needs --authorization-behavior %s", acmestate.BehaviorChallenge)
				}
				types, err := cmdutil.SplitListFlag("challenge-types", challenges, errs.ExitUsage)
				if err != nil {
					return err
				}
				if err := acmestate.CheckChallengeTypes(types); err != nil {
					return err
				}
				opts.ChallengeTypes = &types
			}
			if fl.Changed("contact") {
				if err := cmdutil.CheckEnum("contact", []string{contact}, acmestate.Contacts); err != nil {
					return err
				}
				opts.Contact = &contact
			}
			if fl.Changed("allowed-key-algorithms") {
				keyAlgs, err := cmdutil.SplitListFlag("allowed-key-algorithms", algs, errs.ExitUsage)
				if err != nil {
					return err
				}
				if len(keyAlgs) == 0 {
					return errs.UsageErrorf("--allowed-key-algorithms needs at least one algorithm")
				}
				if err := cmdutil.CheckEnum("allowed-key-algorithms", keyAlgs, acmestate.KeyAlgorithms); err != nil {
					return err
				}
				opts.AllowedKeyAlgorithms = &keyAlgs
			}
			if fl.Changed("certificate-tags") {
				opts.CertificateTags = &certTags
			}
			if fl.Changed("name") {
				opts.Name = &name
			}
			if fl.Changed("certificate-authority-arn") {
				opts.CertificateAuthority = &caRef
			}
			if fl.Changed("default-profile") {
				if err := cmdutil.CheckEnum("default-profile", []string{profile}, acmestate.ProfileNames()); err != nil {
					return err
				}
				opts.DefaultProfile = &profile
			}
			if runF != nil {
				return runF(opts)
			}
			return runUpdate(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&behavior, "authorization-behavior", "", "PRE_APPROVED or CHALLENGE")
	fl.StringArrayVar(&challenges, "challenge-types", nil, "challenge `types` a CHALLENGE endpoint offers: http-01, dns-01, tls-alpn-01 (repeatable, comma-separated)")
	fl.StringVar(&contact, "contact", "", "REQUIRED or NOT_REQUIRED")
	fl.StringArrayVar(&algs, "allowed-key-algorithms", nil, "certificate key `algorithms` finalize accepts")
	fl.StringArrayVar(&certTags, "certificate-tags", nil, "tag put on issued certificates, `Key=K,Value=V` or K=V (repeatable; replace the current ones)")
	fl.StringVar(&name, "name", "", "a `name` for people")
	fl.StringVar(&caRef, "certificate-authority-arn", "", "issue from this `CA` of the vault from now on")
	fl.BoolVar(&opts.PublicCertificateAuthority, "public-certificate-authority", false, "issue from the built-in public-style hierarchy from now on")
	fl.StringVar(&profile, "default-profile", "", "`profile` of orders that name none: classic, tlsserver or shortlived")
	cmdutil.EnumCompletion(cmd, "authorization-behavior", acmestate.AuthorizationBehaviors)
	cmdutil.EnumCompletion(cmd, "challenge-types", acmestate.ChallengeTypes)
	cmdutil.EnumCompletion(cmd, "contact", acmestate.Contacts)
	cmdutil.EnumCompletion(cmd, "default-profile", acmestate.ProfileNames())
	cmdutil.EnumCompletion(cmd, "allowed-key-algorithms", acmestate.KeyAlgorithms)
	_ = cmd.RegisterFlagCompletionFunc("certificate-authority-arn", f.CompleteCAFlag(cmdutil.CAChoice{Keep: cmdutil.CAPrivateIssuer, Default: true}))
	cmdutil.MarkNonEmpty(cmd.Flags(), "certificate-authority-arn", "the CA the endpoint issues from now")
	return cmd
}

func runUpdate(ctx context.Context, o *UpdateOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	d, notices, err := svc.Update(ctx, o.Endpoint, o.UpdateInput)
	if err != nil {
		return err
	}
	cmdutil.PrintNotices(o.IO, notices...)
	return printEndpoint(p.Acknowledge, d)
}
