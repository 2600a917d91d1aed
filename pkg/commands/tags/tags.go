// Package tags implements `certctl tags add|remove|list`.
package tags

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// NewCmdTags builds `certctl tags`.
func NewCmdTags(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tags <command>",
		Short: "Add, remove and list the tags of a certificate, CA or ACME endpoint",
		Long: `Tags label certificates for filtering (` + "`certctl list --tag env=prod`" + `). As in ACM: at
most 50 tags per certificate, keys up to 127 characters, values up to 255,
case-sensitive, of letters, digits, spaces and _ . : / = + - @ only; the certctl:
prefix is reserved. Give tags as Key=K,Value=V or K=V, one per --tags.

A CA or an ACME endpoint — by its ARN (arn:…:certificate-authority/…,
arn:…:acme-endpoint/…), its UUID or a unique prefix of it — names that
resource's tags instead of a certificate's. A prefix that several of them
share is ambiguous (exit 4, naming their ARNs).`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdTagsAdd(f, nil), NewCmdTagsRemove(f, nil), NewCmdTagsList(f, nil))
	return cmd
}

// ChangeOptions are the inputs of `tags add` and `tags remove`: their
// dependencies, as functions that tests replace, and their flag values.
type ChangeOptions struct {
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)
	IO           *iostreams.IOStreams
	// Quiet is the global -q: no summary line after a bulk change.
	Quiet func() bool

	ID   string
	Tags []string
	// Select is a selection instead of ID.
	Select cmdutil.SelectionFlags
}

// AddOptions are the inputs of `tags add`.
type AddOptions = ChangeOptions

// RemoveOptions are the inputs of `tags remove`.
type RemoveOptions = ChangeOptions

// tagChange is what a verb does with the service: to one certificate, or
// to a selection (verb names the change in the confirmation prompt).
type tagChange struct {
	// verb asks ("Tag 3 certificate(s)?"), doing shows progress.
	verb, doing string
	one         func(*certificates.Service, context.Context, string, []string) (*certificates.TagList, error)
	selected    func(*certificates.Service, context.Context, certificates.BulkOptions, []string) (*certificates.BulkReport, error)
}

var (
	addTags    = tagChange{verb: "tag", doing: "tagging", one: (*certificates.Service).AddTags, selected: (*certificates.Service).AddTagsSelected}
	removeTags = tagChange{verb: "untag", doing: "untagging", one: (*certificates.Service).RemoveTags, selected: (*certificates.Service).RemoveTagsSelected}
)

// NewCmdTagsAdd builds `certctl tags add`.
func NewCmdTagsAdd(f *cmdutil.Factory, runF func(*AddOptions) error) *cobra.Command {
	return newCmdTagChange(f, runF, addTags, "add ARN|--filter-statement JSON|--query-terse Q --tags Key=K,Value=V ...",
		"Add tags to a certificate, CA or ACME endpoint (a tag with an existing key is replaced)")
}

// NewCmdTagsRemove builds `certctl tags remove`.
func NewCmdTagsRemove(f *cmdutil.Factory, runF func(*RemoveOptions) error) *cobra.Command {
	return newCmdTagChange(f, runF, removeTags, "remove ARN|--filter-statement JSON|--query-terse Q --tags Key=K,Value=V ...",
		"Remove tags from a certificate, CA or ACME endpoint (by key, or key and value)")
}

func newCmdTagChange(f *cmdutil.Factory, runF func(*ChangeOptions) error, ch tagChange, use, short string) *cobra.Command {
	opts := &ChangeOptions{Printer: f.Printer, Certificates: f.Certificates, IO: f.IO, Quiet: func() bool { return f.Globals.Quiet }}
	name := strings.Fields(use)[0]
	cmd := verbCommand(f, use, short, &opts.ID, &opts.Select,
		func(cmd *cobra.Command) error {
			if len(opts.Tags) == 0 {
				return errs.UsageErrorf("tags %s: --tags is required", name)
			}
			if runF != nil {
				return runF(opts)
			}
			return runTagChange(cmd.Context(), opts, ch)
		})
	tagsFlag(cmd, &opts.Tags)
	return cmd
}

func runTagChange(ctx context.Context, o *ChangeOptions, ch tagChange) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	if o.Select.IsSet() {
		sel, err := o.Select.Selection(o.IO)
		if err != nil {
			return err
		}
		prog := cmdutil.NewBulkProgress(o.IO, o.Quiet(), ch.doing)
		rep, err := ch.selected(svc, ctx, certificates.BulkOptions{Selection: sel, DryRun: o.Select.DryRun,
			Confirm: cmdutil.BulkConfirm(o.IO, o.Select.Yes, ch.verb), Progress: prog.Advanced}, o.Tags)
		prog.Clear()
		if err != nil {
			return err
		}
		return cmdutil.PrintBulkChange(p, o.IO, rep, o.Quiet())
	}
	tags, err := ch.one(svc, ctx, o.ID, o.Tags)
	if err != nil {
		return err
	}
	return printTags(p.Acknowledge, tags)
}

// ListOptions are the inputs of `tags list`.
type ListOptions struct {
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)

	ID string
}

// NewCmdTagsList builds `certctl tags list`.
func NewCmdTagsList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{Printer: f.Printer, Certificates: f.Certificates}
	return verbCommand(f, "list ARN", "List the tags of a certificate, CA or ACME endpoint", &opts.ID, nil,
		func(cmd *cobra.Command) error {
			if runF != nil {
				return runF(opts)
			}
			return runTagsList(cmd.Context(), opts)
		})
}

func runTagsList(ctx context.Context, o *ListOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	tags, err := svc.ListTags(ctx, o.ID)
	if err != nil {
		return err
	}
	return printTags(p.Print, tags)
}

// verbCommand builds a tags verb taking one certificate (positional or
// --certificate-arn, as in the AWS CLI) or, when sel is not nil, a
// selection of certificates instead.
func verbCommand(f *cmdutil.Factory, use, short string, id *string, sel *cmdutil.SelectionFlags, run func(*cobra.Command) error) *cobra.Command {
	long := short + "." + cmdutil.ExitStatus(0, 2, 3, 4, 6)
	args := cmdutil.IDArg(id, "certificate-arn", "ARN")
	if sel != nil {
		long = short + ".\n\n" + cmdutil.SelectionHelp + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6, 7)
		args = cmdutil.SelectionIDArg(id, "certificate-arn", "ARN", sel)
	}
	cmd := &cobra.Command{
		Use:               use,
		Short:             short,
		Long:              long,
		Args:              args,
		ValidArgsFunction: f.CompleteTagged,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sel != nil {
				if err := sel.CheckDryRun(); err != nil {
					return err
				}
			}
			return run(cmd)
		},
	}
	cmdutil.IDAliasFlag(cmd, id, "certificate-arn", "the certificate (alias of the positional ARN, as in the AWS CLI)")
	// --certificate-authority-arn, which aws acm-pca tag-certificate-authority,
	// list-tags and untag-certificate-authority take, is another name of
	// it: either names a certificate, a CA or an endpoint.
	cmdutil.FlagAliases(cmd, map[string]string{"certificate-authority-arn": "certificate-arn"})
	if sel != nil {
		cmdutil.AddSelectionFlags(cmd, sel)
	}
	return cmd
}

func tagsFlag(cmd *cobra.Command, tags *[]string) {
	cmd.Flags().StringArrayVar(tags, "tags", nil, "tag as `Key=K,Value=V` or K=V (repeatable)")
}

// printTags prints a certificate's tags with print: the printer's Print
// (tags list), or its Acknowledge (a change of them, which -q silences).
func printTags(print func(any, output.View) error, tl *certificates.TagList) error {
	tags := tl.Tags
	return print(tl, output.View{
		Table: func(s *output.Styles) *output.Table {
			if len(tags) == 0 {
				return &output.Table{Rows: [][]string{{"No tags."}}}
			}
			t := &output.Table{Headers: []string{"KEY", "VALUE"}}
			for _, tg := range tags {
				t.Rows = append(t.Rows, []string{output.Sanitize(tg.Key), output.Sanitize(tg.Value)})
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
