package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// UpdateOptions are the inputs of `ca update`.
type UpdateOptions struct {
	Deps

	CA                      string
	Status                  string
	RevocationConfiguration string
}

// updateStatuses are the statuses `ca update` sets.
var updateStatuses = []string{authority.StatusActive, authority.StatusDisabled}

// NewCmdCaUpdate builds `certctl ca update`.
func NewCmdCaUpdate(f *cmdutil.Factory, runF func(*UpdateOptions) error) *cobra.Command {
	opts := &UpdateOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "update CA [--status ACTIVE|DISABLED] [--revocation-configuration JSON|file://F]",
		Short: "Enable or disable a certificate authority, or change its revocation configuration",
		Long: `Disable a CA (it refuses to issue, PCA_INVALID_STATE) or enable it again; or
change its revocation configuration (AWS Private CA's RevocationConfiguration,
as for ca create): certificates issued from then on carry the new CRL and OCSP
locations. As in AWS Private CA's UpdateCertificateAuthority, a member given
(CrlConfiguration, OcspConfiguration) replaces the CA's whole member, and a
member left out is kept unchanged: turn one off with {"Enabled":false}. (A CA
created without a configuration publishes both at ca.base_url; the member left
out stays so. A member enabled at ca.base_url on a host that has none set is
said so on stderr: the certificates issued there carry no such location.) ca describe shows the result. Turning a member off takes its
location out of the certificates issued from then on; ca serve goes on
answering for it (the CRL, OCSP), since the certificates issued before carry
the location until they expire. The CRL partitions of a PARTITIONED CA stay served with the
locations their certificates carry; a new CustomCname starts the next
partition (see ca crl --help). A SHORT_LIVED_CERTIFICATE CA publishes neither:
enabling a CRL or OCSP for it is refused (exit 4).` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl ca update 5f2c9e01 --status DISABLED
  certctl ca update 5f2c9e01 --revocation-configuration '{"CrlConfiguration":{"Enabled":true,"CustomCname":"crl.example.test"}}'
  certctl ca update 5f2c9e01 --revocation-configuration '{"OcspConfiguration":{"Enabled":false}}'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Status == "" && opts.RevocationConfiguration == "" {
				return errs.UsageErrorf("give --status or --revocation-configuration")
			}
			if opts.Status != "" {
				if err := cmdutil.CheckEnum("status", []string{opts.Status}, updateStatuses); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaUpdate(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, cmdutil.CANotDeleted)
	cmd.Flags().StringVar(&opts.Status, "status", "", "ACTIVE or DISABLED")
	cmd.Flags().StringVar(&opts.RevocationConfiguration, "revocation-configuration", "", "AWS Private CA RevocationConfiguration `JSON` or file://F")
	_ = cmd.RegisterFlagCompletionFunc("revocation-configuration", cmdutil.CompleteFileURL)
	cmdutil.EnumCompletion(cmd, "status", updateStatuses)
	return cmd
}

func runCaUpdate(ctx context.Context, o *UpdateOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	in := authorities.UpdateInput{Status: o.Status}
	if o.RevocationConfiguration != "" {
		data, err := readJSONArg(o.IO, "revocation-configuration", o.RevocationConfiguration)
		if err != nil {
			return err
		}
		if in.Revocation, err = authority.ParseRevocationConfiguration(data); err != nil {
			return err
		}
	}
	res, err := svc.Update(ctx, o.CA, in)
	if err != nil {
		return err
	}
	cmdutil.PrintNotices(o.IO, res.Notices...)
	return printARN(p.Acknowledge, "Updated", res.Arn)
}
