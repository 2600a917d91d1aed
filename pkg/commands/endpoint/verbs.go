package endpoint

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	acmeep "github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func newCmdCreate(f *cmdutil.Factory) *cobra.Command {
	var behavior, contact, name string
	var algs, certTags, tags []string
	cmd := &cobra.Command{
		Use:   "create --authorization-behavior PRE_APPROVED --contact REQUIRED|NOT_REQUIRED",
		Short: "Create an ACME endpoint",
		Long: `Create an ACME endpoint ({"AcmeEndpointArn": ...}). --allowed-key-algorithms limits
the certificate keys finalize accepts (default all of RSA_2048, EC_prime256v1,
EC_secp384r1); --certificate-tags are put on every certificate it issues;
--contact REQUIRED rejects ACME accounts without a mailto: contact.` + cmdutil.ExitStatus(0, 2, 4, 6),
		Example: `  certctl endpoint create --authorization-behavior PRE_APPROVED --contact REQUIRED \
      --allowed-key-algorithms EC_prime256v1,EC_secp384r1 --certificate-tags env=lab --name lab`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckEnum("authorization-behavior", []string{behavior}, acmeep.AuthorizationBehaviors); err != nil {
				return err
			}
			if err := cmdutil.CheckEnum("contact", []string{contact}, acmeep.Contacts); err != nil {
				return err
			}
			keyAlgs := cmdutil.SplitListFlag(algs)
			if err := cmdutil.CheckEnum("allowed-key-algorithms", keyAlgs, acmeep.KeyAlgorithms); err != nil {
				return err
			}
			ct, err := parseTagFlags("certificate-tags", certTags)
			if err != nil {
				return err
			}
			tg, err := parseTagFlags("tags", tags)
			if err != nil {
				return err
			}
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var ep *acmeep.Endpoint
			err = e.V.Store.Update(cmd.Context(), func(tx localstore.Tx) error {
				ep, err = acmeep.Create(tx, acmeep.CreateParams{Name: name, AuthorizationBehavior: behavior, Contact: contact,
					AllowedKeyAlgorithms: keyAlgs, CertificateTags: ct, Tags: tg}, f.Now())
				return err
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return printEndpointARN(e.P, "Created", e.Names.EndpointARN(ep.ID))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&behavior, "authorization-behavior", "", "PRE_APPROVED")
	fl.StringVar(&contact, "contact", "", "REQUIRED or NOT_REQUIRED")
	fl.StringArrayVar(&algs, "allowed-key-algorithms", nil, "certificate key `algorithms` finalize accepts (repeatable, comma-separated)")
	fl.StringArrayVar(&certTags, "certificate-tags", nil, "tag put on issued certificates, `Key=K,Value=V` or K=V (repeatable)")
	fl.StringArrayVar(&tags, "tags", nil, "tag of the endpoint, `Key=K,Value=V` or K=V (repeatable)")
	fl.StringVar(&name, "name", "", "a `name` for people")
	_ = cmd.MarkFlagRequired("authorization-behavior")
	_ = cmd.MarkFlagRequired("contact")
	cmdutil.EnumCompletion(cmd, "authorization-behavior", acmeep.AuthorizationBehaviors)
	cmdutil.EnumCompletion(cmd, "contact", acmeep.Contacts)
	cmdutil.EnumCompletion(cmd, "allowed-key-algorithms", acmeep.KeyAlgorithms)
	return cmd
}

func describeTable(d acmeep.Description) *output.Table {
	t := &output.Table{}
	add := func(k, v string) {
		if v != "" {
			t.Rows = append(t.Rows, []string{k, v})
		}
	}
	add("ARN", d.AcmeEndpointArn)
	add("Name", d.Name)
	add("Status", d.Status)
	add("Endpoint URL", d.EndpointURL)
	add("Authorization", d.AuthorizationBehavior)
	add("Contact", d.Contact)
	add("Key algorithms", strings.Join(d.CertificateAuthority.PublicCertificateAuthority.AllowedKeyAlgorithms, ", "))
	add("Certificate tags", tagsString(d.CertificateTags))
	add("Tags", tagsString(d.Tags))
	if d.CreatedAt != nil {
		add("Created", d.CreatedAt.String())
	}
	if d.UpdatedAt != nil {
		add("Updated", d.UpdatedAt.String())
	}
	add("Failure reason", d.FailureReason)
	add("Issued", fmt.Sprint(d.Metrics.CertificateIssuanceSuccess))
	add("Failed", fmt.Sprint(d.Metrics.CertificateIssuanceFailed))
	return t
}

func newCmdDescribe(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "describe ENDPOINT",
		Short:             "Show an ACME endpoint",
		Long:              `Show an ACME endpoint ({"AcmeEndpoint":{...}}) with its URL and issuance counters.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var d acmeep.Description
			err = e.onEndpoint(cmd.Context(), args[0], false, func(tx localstore.Tx, ep *acmeep.Endpoint) error {
				d, err = e.describeIn(tx, ep)
				return err
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return e.P.Print(map[string]acmeep.Description{"AcmeEndpoint": d}, output.View{
				Table:   func(*output.Styles) *output.Table { return describeTable(d) },
				Records: func() [][]string { return [][]string{endpointRecord(d)} },
			})
		},
	}
}

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List ACME endpoints",
		Long:  `List the vault's ACME endpoints ({"AcmeEndpoints":[...]}).` + cmdutil.ExitStatus(0, 2, 6),
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			out := struct {
				AcmeEndpoints []acmeep.Description `json:"AcmeEndpoints"`
			}{AcmeEndpoints: []acmeep.Description{}}
			err = e.V.Store.View(cmd.Context(), func(tx localstore.Tx) error {
				eps, err := acmeep.List(tx)
				if err != nil {
					return err
				}
				for _, ep := range eps {
					d, err := e.describeIn(tx, ep)
					if err != nil {
						return err
					}
					out.AcmeEndpoints = append(out.AcmeEndpoints, d)
				}
				return nil
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return e.P.Print(out, output.ListView(out.AcmeEndpoints, "No ACME endpoints.", []string{"ID", "NAME", "STATUS", "CONTACT", "ISSUED", "FAILED", "URL"},
				func(s *output.Styles, d acmeep.Description) []string {
					return []string{idOf(d.AcmeEndpointArn), d.Name, s.Status(d.Status), d.Contact,
						fmt.Sprint(d.Metrics.CertificateIssuanceSuccess), fmt.Sprint(d.Metrics.CertificateIssuanceFailed), d.EndpointURL}
				}, endpointRecord))
		},
	}
}

func newCmdUpdate(f *cmdutil.Factory) *cobra.Command {
	var contact, name string
	var algs, certTags []string
	cmd := &cobra.Command{
		Use:   "update ENDPOINT [--contact C] [--allowed-key-algorithms A] [--certificate-tags T] [--name N]",
		Short: "Change an ACME endpoint's settings",
		Long: `Change an endpoint's contact requirement, allowed key algorithms, certificate
tags (replaced as a whole) or name. Prints the endpoint as ` + "`describe`" + ` does.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if !fl.Changed("contact") && !fl.Changed("allowed-key-algorithms") && !fl.Changed("certificate-tags") && !fl.Changed("name") {
				return errs.UsageErrorf("nothing to update: give --contact, --allowed-key-algorithms, --certificate-tags or --name")
			}
			if fl.Changed("contact") {
				if err := cmdutil.CheckEnum("contact", []string{contact}, acmeep.Contacts); err != nil {
					return err
				}
			}
			keyAlgs := cmdutil.SplitListFlag(algs)
			if fl.Changed("allowed-key-algorithms") {
				if len(keyAlgs) == 0 {
					return errs.UsageErrorf("--allowed-key-algorithms needs at least one algorithm")
				}
				if err := cmdutil.CheckEnum("allowed-key-algorithms", keyAlgs, acmeep.KeyAlgorithms); err != nil {
					return err
				}
			}
			ct, err := parseTagFlags("certificate-tags", certTags)
			if err != nil {
				return err
			}
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var d acmeep.Description
			err = e.onEndpoint(cmd.Context(), args[0], true, func(tx localstore.Tx, ep *acmeep.Endpoint) error {
				if fl.Changed("contact") {
					ep.Contact = contact
				}
				if fl.Changed("allowed-key-algorithms") {
					ep.AllowedKeyAlgorithms = keyAlgs
				}
				if fl.Changed("certificate-tags") {
					ep.CertificateTags = ct
				}
				if fl.Changed("name") {
					ep.Name = name
				}
				ep.UpdatedAt = f.Now()
				if err := acmeep.Put(tx, ep); err != nil {
					return err
				}
				d, err = e.describeIn(tx, ep)
				return err
			})
			if err != nil {
				return cmdutil.VaultError(err)
			}
			return e.P.Print(map[string]acmeep.Description{"AcmeEndpoint": d}, output.View{
				Table:   func(*output.Styles) *output.Table { return describeTable(d) },
				Records: func() [][]string { return [][]string{endpointRecord(d)} },
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&contact, "contact", "", "REQUIRED or NOT_REQUIRED")
	fl.StringArrayVar(&algs, "allowed-key-algorithms", nil, "certificate key `algorithms` finalize accepts")
	fl.StringArrayVar(&certTags, "certificate-tags", nil, "tags put on issued certificates (replace the current ones)")
	fl.StringVar(&name, "name", "", "a `name` for people")
	cmdutil.EnumCompletion(cmd, "contact", acmeep.Contacts)
	cmdutil.EnumCompletion(cmd, "allowed-key-algorithms", acmeep.KeyAlgorithms)
	return cmd
}

func newCmdDelete(f *cmdutil.Factory) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete ENDPOINT [--yes]",
		Short: "Delete an ACME endpoint",
		Long: `Delete an endpoint with its EAB credentials, domain validations, ACME accounts,
orders and authorizations. Certificates it issued stay in the inventory. Asks for
confirmation on a terminal unless --yes.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.ExactArgs(1, "ENDPOINT"),
		ValidArgsFunction: completeEndpoint(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := open(cmd.Context(), f)
			if err != nil {
				return err
			}
			var id string
			if err := e.V.Store.View(cmd.Context(), func(tx localstore.Tx) error {
				ep, err := acmeep.Resolve(tx, args[0])
				if ep != nil {
					id = ep.ID
				}
				return err
			}); err != nil {
				return cmdutil.VaultError(err)
			}
			arnStr := e.Names.EndpointARN(id)
			if !yes && f.IO.CanPrompt() {
				fmt.Fprintf(f.IO.ErrOut, "Delete ACME endpoint %s with its EAB credentials, domains and accounts? [y/N] ", arnStr)
				line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return errs.Refusedf("not deleted")
				}
			}
			if err := e.V.Store.Update(cmd.Context(), func(tx localstore.Tx) error { return acmeep.Delete(tx, id) }); err != nil {
				return cmdutil.VaultError(err)
			}
			return printEndpointARN(e.P, "Deleted", arnStr)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
