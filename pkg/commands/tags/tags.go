// Package tags implements `certctl tags add|remove|list`.
package tags

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

// Options are the inputs of the tags verbs.
type Options struct {
	Factory *cmdutil.Factory
	Verb    string
	ID      string
	Tags    []string
}

// Output is the JSON form of tags list (and of add/remove: the tags after).
type Output struct {
	Tags []localstore.Tag `json:"Tags"`
}

// NewCmdTags builds `certctl tags`.
func NewCmdTags(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tags <command>",
		Short: "Add, remove and list a certificate's tags",
		Long: `Tags label certificates for filtering (` + "`certctl list --tag env=prod`" + `). As in ACM: at
most 50 tags per certificate, keys up to 127 characters, values up to 255,
case-sensitive; the certctl: prefix is reserved. Give tags as Key=K,Value=V or
K=V, one per --tags.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.GroupRunE,
	}
	for _, verb := range []string{"add", "remove", "list"} {
		cmd.AddCommand(newVerb(f, verb, nil))
	}
	return cmd
}

func newVerb(f *cmdutil.Factory, verb string, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, Verb: verb}
	short := map[string]string{
		"add":    "Add tags to a certificate (a tag with an existing key is replaced)",
		"remove": "Remove tags from a certificate (by key, or key and value)",
		"list":   "List a certificate's tags",
	}[verb]
	use := "tags " + verb + " ARN --tags Key=K,Value=V ..."
	if verb == "list" {
		use = "list ARN"
	} else {
		use = verb + " ARN --tags Key=K,Value=V ..."
	}
	cmd := &cobra.Command{
		Use:               use,
		Short:             short,
		Long:              short + "." + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Args:              cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if verb != "list" && len(opts.Tags) == 0 {
				return errs.UsageErrorf("tags %s: --tags is required", verb)
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	if verb != "list" {
		cmd.Flags().StringArrayVar(&opts.Tags, "tags", nil, "tag as `Key=K,Value=V` or K=V (repeatable)")
	}
	cmd.Flags().StringVar(&opts.ID, "certificate-arn", "", "the certificate (alias of the positional ARN, as in the AWS CLI)")
	_ = cmd.Flags().MarkHidden("certificate-arn")
	return cmd
}

func run(ctx context.Context, o *Options) error {
	f := o.Factory
	p, err := f.Printer()
	if err != nil {
		return err
	}
	given := make([]localstore.Tag, len(o.Tags))
	valueGiven := make([]bool, len(o.Tags))
	for i, t := range o.Tags {
		if given[i], valueGiven[i], err = inventory.ParseTagCondition(t); err != nil {
			return err
		}
	}
	v, err := f.Vault(ctx)
	if err != nil {
		return err
	}
	var tags []localstore.Tag
	txn := v.Store.Update
	if o.Verb == "list" {
		txn = v.Store.View
	}
	err = txn(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, o.ID)
		if err != nil {
			return err
		}
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		switch o.Verb {
		case "add":
			if c.Tags, err = inventory.MergeTags(c.Tags, given); err != nil {
				return err
			}
		case "remove":
			c.Tags = inventory.RemoveTags(c.Tags, given, valueGiven)
		}
		tags = c.Tags
		if o.Verb == "list" {
			return nil
		}
		c.UpdatedAt = f.Now()
		return tx.PutCertificate(c)
	})
	if err != nil {
		return cmdutil.VaultError(err)
	}
	if tags == nil {
		tags = []localstore.Tag{}
	}
	out := Output{Tags: tags}
	return p.Print(out, output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Headers: []string{"KEY", "VALUE"}}
			for _, tg := range tags {
				t.Rows = append(t.Rows, []string{tg.Key, tg.Value})
			}
			if len(tags) == 0 {
				return &output.Table{Rows: [][]string{{"No tags."}}}
			}
			return t
		},
		Records: func() [][]string {
			var rows [][]string
			for _, tg := range tags {
				rows = append(rows, []string{tg.Key, tg.Value})
			}
			return rows
		},
	})
}
