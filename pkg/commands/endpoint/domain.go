package endpoint

import (
	"github.com/spf13/cobra"

	acmeep "github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

func newCmdDomain(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "domain <command>",
		Short: "Manage the domains an endpoint pre-approves",
		Long: `Domain validations of an endpoint. A VALID validation of D pre-approves D, its
subdomains and *.D: ACME orders for those names need no challenge; orders for
any other name are rejected (rejectedIdentifier). A domain is proved by the DNS
CNAME record shown (then ` + "`endpoint domain check`" + `), or marked valid by the
administrator with --pre-validated.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(newCmdDomainAdd(f), newCmdDomainList(f), newCmdDomainCheck(f), newCmdDomainRemove(f))
	return cmd
}

func domainRecord(v acmeep.DomainView) []string {
	return []string{v.DomainName, v.Status, v.ResourceRecord.Name, v.ResourceRecord.Type, v.ResourceRecord.Value}
}

func printDomain(p *output.Printer, d *acmeep.Domain) error {
	v := acmeep.ViewDomain(d)
	return p.Print(map[string]acmeep.DomainView{"DomainValidation": v}, output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Rows: [][]string{{"Domain", v.DomainName}, {"Status", s.Status(v.Status)}}}
			if v.Status != acmeep.DomainValid {
				t.Rows = append(t.Rows, []string{"Create", v.ResourceRecord.Name + " " + v.ResourceRecord.Type + " " + v.ResourceRecord.Value})
			}
			if v.PreValidated {
				t.Rows = append(t.Rows, []string{"Pre-validated", "yes"})
			}
			return t
		},
		Records: func() [][]string { return [][]string{domainRecord(v)} },
	})
}

func newCmdDomainAdd(f *cmdutil.Factory) *cobra.Command {
	var pre bool
	cmd := &cobra.Command{
		Use:   "add ENDPOINT DOMAIN [--pre-validated]",
		Short: "Register a domain for pre-approval",
		Long: `Register DOMAIN with an endpoint ({"DomainValidation":{...}}). Without
--pre-validated it stays PENDING until the CNAME record shown exists and
` + "`endpoint domain check`" + ` finds it; --pre-validated makes it VALID at once.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl endpoint domain add 5f2c9e lab.internal --pre-validated
  certctl endpoint domain add 5f2c9e example.com`,
		Args:              cmdutil.ExactArgs(2, "ENDPOINT", "DOMAIN"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var d *acmeep.Domain
			err = e.onEndpoint(cmd.Context(), args[0], true, func(tx localstore.Tx, ep *acmeep.Endpoint) error {
				d, err = acmeep.AddDomain(tx, ep, args[1], recordFunc(tx, e.Cfg.DNSZone), pre, f.Now())
				return err
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return printDomain(e.P, d)
		},
	}
	cmd.Flags().BoolVar(&pre, "pre-validated", false, "mark the domain VALID without a DNS check")
	return cmd
}

func newCmdDomainList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "list ENDPOINT",
		Short:             "List an endpoint's domain validations",
		Long:              `List an endpoint's domains ({"DomainValidations":[...]}).` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			out := struct {
				DomainValidations []acmeep.DomainView `json:"DomainValidations"`
			}{DomainValidations: []acmeep.DomainView{}}
			err = e.onEndpoint(cmd.Context(), args[0], false, func(tx localstore.Tx, ep *acmeep.Endpoint) error {
				ds, err := acmeep.ListDomains(tx, ep.ID)
				for _, d := range ds {
					out.DomainValidations = append(out.DomainValidations, acmeep.ViewDomain(d))
				}
				return err
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return e.P.Print(out, output.ListView(out.DomainValidations, "No domains.", []string{"DOMAIN", "STATUS", "RECORD NAME", "TYPE", "VALUE"},
				func(s *output.Styles, v acmeep.DomainView) []string {
					return []string{v.DomainName, s.Status(v.Status), v.ResourceRecord.Name, v.ResourceRecord.Type, v.ResourceRecord.Value}
				}, domainRecord))
		},
	}
}

func newCmdDomainCheck(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "check ENDPOINT DOMAIN",
		Short: "Look up a domain's validation record in DNS",
		Long: `Query the configured resolvers (validation.resolvers) for the domain's CNAME
record, then its CAA records (validation.caa_identities). The domain becomes
VALID when the record is in place and CAA allows issuance, FAILED when CAA
forbids it, and stays PENDING otherwise. Exits 0 whatever the status.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(2, "ENDPOINT", "DOMAIN"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var d *acmeep.Domain
			if err := e.onEndpoint(cmd.Context(), args[0], false, func(tx localstore.Tx, ep *acmeep.Endpoint) error {
				d, err = acmeep.GetDomain(tx, ep.ID, args[1])
				return err
			}); err != nil {
				return cmdutil.VaultError(err)
			}
			if d.Status == acmeep.DomainPending {
				status, err := checkDomain(cmd.Context(), e, d)
				if err != nil {
					return err
				}
				if status != d.Status {
					err = e.V.Store.Update(cmd.Context(), func(tx localstore.Tx) error {
						cur, err := acmeep.GetDomain(tx, d.EndpointID, d.DomainName)
						if err != nil {
							return err
						}
						if cur.Status == acmeep.DomainPending {
							cur.Status, cur.UpdatedAt = status, f.Now()
							if err := acmeep.PutDomain(tx, cur); err != nil {
								return err
							}
						}
						d = cur
						return nil
					})
					if err != nil {
						return cmdutil.VaultError(err)
					}
				}
			}
			return printDomain(e.P, d)
		},
	}
}

func newCmdDomainRemove(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "remove ENDPOINT DOMAIN",
		Short:             "Remove a domain (its names are no longer pre-approved)",
		Long:              `Remove a domain validation from an endpoint. Certificates already issued are kept.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(2, "ENDPOINT", "DOMAIN"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var d *acmeep.Domain
			err = e.onEndpoint(cmd.Context(), args[0], true, func(tx localstore.Tx, ep *acmeep.Endpoint) error {
				if d, err = acmeep.GetDomain(tx, ep.ID, args[1]); err != nil {
					return err
				}
				return acmeep.RemoveDomain(tx, ep.ID, d.DomainName)
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return printDomain(e.P, d)
		},
	}
}
