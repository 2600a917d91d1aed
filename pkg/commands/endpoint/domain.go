package endpoint

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
)

// NewCmdDomain builds `certctl endpoint domain`.
func NewCmdDomain(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "domain <command>",
		Short: "Manage the domains an endpoint pre-approves",
		Long: `Domain validations of an endpoint. A VALID validation of D pre-approves D, its
subdomains and *.D: ACME orders for those names need no challenge; orders for
any other name are rejected (rejectedIdentifier). A domain is proved by the DNS
CNAME record shown (then ` + "`endpoint domain check`" + `), or marked valid by the
administrator with --pre-validated.`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdDomainAdd(f, nil), NewCmdDomainList(f, nil), NewCmdDomainCheck(f, nil), NewCmdDomainRemove(f, nil))
	return cmd
}

func domainRecord(v acmestate.DomainView) []string {
	return []string{v.DomainName, v.Status, v.ResourceRecord.Name, v.ResourceRecord.Type, v.ResourceRecord.Value}
}

// printDomain prints a domain validation with print: Print (add: the
// record to publish; check), or Acknowledge (remove, which -q silences).
func printDomain(print func(any, output.View) error, v acmestate.DomainView) error {
	return print(map[string]acmestate.DomainView{"DomainValidation": v}, output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Rows: [][]string{{"Domain", v.DomainName}, {"Status", s.Status(v.Status)}}}
			if v.Status != acmestate.DomainValid {
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

// DomainAddOptions are the inputs of `endpoint domain add`.
type DomainAddOptions struct {
	Deps

	Endpoint     string
	Domain       string
	PreValidated bool
}

// NewCmdDomainAdd builds `certctl endpoint domain add`.
func NewCmdDomainAdd(f *cmdutil.Factory, runF func(*DomainAddOptions) error) *cobra.Command {
	opts := &DomainAddOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "add ENDPOINT DOMAIN [--pre-validated]",
		Short: "Register a domain for pre-approval",
		Long: `Register DOMAIN with an endpoint ({"DomainValidation":{...}}). Without
--pre-validated it stays PENDING until the CNAME record shown exists and
` + "`endpoint domain check`" + ` finds it; --pre-validated makes it VALID at once.
A domain under which the name constraints of the endpoint's CA and of the CAs
above it allow no name is refused (exit 5): DOMAIN is within an excluded DNS
subtree, or outside every permitted one and above none, or the CAs' permitted
subtrees under it have no name in common.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl endpoint domain add 5f2c9e lab.internal --pre-validated
  certctl endpoint domain add 5f2c9e example.com`,
		Args:              cmdutil.ExactArgs(2, "ENDPOINT", "DOMAIN"),
		ValidArgsFunction: f.CompleteEndpointDomain(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoint, opts.Domain = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runDomainAdd(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.PreValidated, "pre-validated", false, "mark the domain VALID without a DNS check")
	return cmd
}

func runDomainAdd(ctx context.Context, o *DomainAddOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	v, err := svc.AddDomain(ctx, o.Endpoint, o.Domain, o.PreValidated)
	if err != nil {
		return err
	}
	return printDomain(p.Print, v)
}

// DomainCheckOptions are the inputs of `endpoint domain check`.
type DomainCheckOptions struct {
	Deps
	IO *iostreams.IOStreams

	Endpoint string
	Domain   string
}

// NewCmdDomainCheck builds `certctl endpoint domain check`.
func NewCmdDomainCheck(f *cmdutil.Factory, runF func(*DomainCheckOptions) error) *cobra.Command {
	opts := &DomainCheckOptions{Deps: newDeps(f), IO: f.IO}
	return &cobra.Command{
		Use:   "check ENDPOINT DOMAIN",
		Short: "Look up a domain's validation record in DNS",
		Long: `Query the configured resolvers (validation.resolvers) for the domain's CNAME
record, then its CAA records (validation.caa_identities). The domain becomes
VALID when the record is in place and CAA allows issuance, FAILED when CAA
forbids it, and stays PENDING otherwise. A FAILED domain is checked again:
it becomes VALID once its CAA records allow issuance. Exits 0 whatever the
status.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(2, "ENDPOINT", "DOMAIN"),
		ValidArgsFunction: f.CompleteEndpointDomain(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoint, opts.Domain = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runDomainCheck(cmd.Context(), opts)
		},
	}
}

func runDomainCheck(ctx context.Context, o *DomainCheckOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	c, err := svc.CheckDomain(ctx, o.Endpoint, o.Domain)
	if err != nil {
		return err
	}
	// Why the domain is still PENDING (or became FAILED): the status of a
	// check that succeeded, as validate check reports it, not an error
	// line ("certctl: " is the prefix of errors and warnings).
	for _, n := range c.Notes {
		fmt.Fprintln(o.IO.ErrOut, output.Sanitize(n))
	}
	return printDomain(p.Print, c.Domain)
}

// DomainRemoveOptions are the inputs of `endpoint domain remove`.
type DomainRemoveOptions struct {
	Deps

	Endpoint string
	Domain   string
}

// NewCmdDomainRemove builds `certctl endpoint domain remove`.
func NewCmdDomainRemove(f *cmdutil.Factory, runF func(*DomainRemoveOptions) error) *cobra.Command {
	opts := &DomainRemoveOptions{Deps: newDeps(f)}
	return &cobra.Command{
		Use:               "remove ENDPOINT DOMAIN",
		Short:             "Remove a domain (its names are no longer pre-approved)",
		Long:              `Remove a domain validation from an endpoint. Certificates already issued are kept.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(2, "ENDPOINT", "DOMAIN"),
		ValidArgsFunction: f.CompleteEndpointDomain(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Endpoint, opts.Domain = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runDomainRemove(cmd.Context(), opts)
		},
	}
}

func runDomainRemove(ctx context.Context, o *DomainRemoveOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	v, err := svc.RemoveDomain(ctx, o.Endpoint, o.Domain)
	if err != nil {
		return err
	}
	return printDomain(p.Acknowledge, v)
}

// DomainListOptions are the inputs of `endpoint domain list`.
type DomainListOptions struct {
	Deps

	Endpoint string
}

// NewCmdDomainList builds `certctl endpoint domain list`.
func NewCmdDomainList(f *cmdutil.Factory, runF func(*DomainListOptions) error) *cobra.Command {
	opts := &DomainListOptions{Deps: newDeps(f)}
	return oneEndpoint(f, &cobra.Command{
		Use:   "list ENDPOINT",
		Short: "List an endpoint's domain validations",
		Long:  `List an endpoint's domains ({"DomainValidations":[...]}).` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
	}, &opts.Endpoint, opts, runF, runDomainList)
}

func runDomainList(ctx context.Context, o *DomainListOptions) error {
	p, svc, err := o.open(ctx)
	if err != nil {
		return err
	}
	ds, err := svc.ListDomains(ctx, o.Endpoint)
	if err != nil {
		return err
	}
	out := struct {
		DomainValidations []acmestate.DomainView `json:"DomainValidations"`
	}{DomainValidations: ds}
	return p.Print(out, output.ListView(out.DomainValidations, "No domains.", []string{"DOMAIN", "STATUS", "RECORD NAME", "TYPE", "VALUE"},
		func(s *output.Styles, v acmestate.DomainView) []string {
			return []string{output.Sanitize(v.DomainName), s.Status(v.Status), output.Sanitize(v.ResourceRecord.Name), v.ResourceRecord.Type, v.ResourceRecord.Value}
		}, domainRecord))
}
