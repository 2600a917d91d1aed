// Package config implements `certctl config list|get|set`. It needs no
// vault: the settings are read and written by pkg/config, which checks
// every value against its key's type and range.
package config

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	cfgpkg "github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
)

// Setting is one row of config list.
type Setting struct {
	Key    string `json:"Key"`
	Value  string `json:"Value"`
	Source string `json:"Source"`
	Env    string `json:"Env"`
	Help   string `json:"Description"`
}

// ListOutput is config list's JSON form.
type ListOutput struct {
	ConfigFile string    `json:"ConfigFile"`
	Settings   []Setting `json:"Settings"`
}

// NewCmdConfig builds `certctl config`.
func NewCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config <command>",
		Short: "Show and change settings",
		Long: `Show and change certctl's settings. Each setting comes from, in order of
precedence: a flag, the environment variable CERTCTL_<KEY> (upper case, dots
become underscores, lists comma-separated), the config file
${XDG_CONFIG_HOME:-~/.config}/certctl/config.yaml (or --config), or its default.
Each command reads them when it starts: a running server (endpoint serve,
ca serve, validate serve-http) keeps those it started with until restarted
— restart every server of a store after a change, so that they issue alike.`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdGet(f, nil), NewCmdSet(f, nil), NewCmdUnset(f, nil))
	return cmd
}

func completeKey(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	keys := make([]string, len(cfgpkg.Keys))
	for i, k := range cfgpkg.Keys {
		keys[i] = k.Name
	}
	return keys, cobra.ShellCompDirectiveNoFileComp
}

// completeKeyValue completes config set's KEY, then its VALUE when the
// key takes one of a few words (tester: true/false/auto were not offered).
func completeKeyValue(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 1 {
		if k, ok := cfgpkg.LookupKey(args[0]); ok {
			return cfgpkg.ValuesOf(k), cobra.ShellCompDirectiveNoFileComp
		}
	}
	return completeKey(cmd, args, toComplete)
}

// keyRunE is the RunE of a command whose one argument is a setting's KEY:
// it takes the key, refuses an unknown one (lookup) and runs run.
func keyRunE(key *string, run func() error) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		*key = args[0]
		if _, err := lookup(*key); err != nil {
			return err
		}
		return run()
	}
}

// lookup finds a setting; an unknown one is not found (exit 3).
func lookup(name string) (cfgpkg.Key, error) {
	k, ok := cfgpkg.LookupKey(name)
	if !ok {
		return k, errs.NotFoundf("%s", cfgpkg.UnknownSetting(name)).WithHint("see `certctl config list`")
	}
	return k, nil
}

// ListOptions are the inputs of config list.
type ListOptions struct {
	Printer func() (*output.Printer, error)
	Config  func() (*cfgpkg.Config, error)
	// Source tells where a setting's effective value comes from.
	Source func(c *cfgpkg.Config, name string) string
}

// NewCmdList builds `certctl config list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{Printer: f.Printer, Config: f.ConfigForDisplay, Source: sourceOf(f)}
	return &cobra.Command{
		Use:   "list",
		Short: "List every setting with its value and where it comes from",
		Long:  "List every setting with its effective value and its source (flag, env, file, default)." + cmdutil.ExitStatus(0, 2),
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runList(opts)
		},
	}
}

func runList(o *ListOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	c, err := o.Config()
	if err != nil {
		return err
	}
	out := ListOutput{ConfigFile: c.File}
	for _, k := range cfgpkg.Keys {
		out.Settings = append(out.Settings, Setting{
			Key: k.Name, Value: c.Shown(k.Name), Env: cfgpkg.EnvName(k.Name), Help: k.Help, Source: o.Source(c, k.Name),
		})
	}
	return p.Print(out, output.View{
		Table: func(s *output.Styles) *output.Table {
			// KEY whole: it is what config get|set take (tester: cut at
			// 60 columns).
			t := &output.Table{Headers: []string{"KEY", "VALUE", "SOURCE"}, Footer: s.Dim("config file: " + c.File), Keep: []string{"KEY"}}
			for _, st := range out.Settings {
				t.Rows = append(t.Rows, []string{st.Key, st.Value, s.Dim(st.Source)})
			}
			return t
		},
		Records: func() [][]string {
			var rows [][]string
			for _, st := range out.Settings {
				rows = append(rows, []string{st.Key, st.Value, st.Source})
			}
			return rows
		},
	})
}

// GetOptions are the inputs of config get.
type GetOptions struct {
	Printer func() (*output.Printer, error)
	Config  func() (*cfgpkg.Config, error)
	// Source tells where a setting's effective value comes from.
	Source func(c *cfgpkg.Config, name string) string

	Key string
}

// sourceOf is the Source of f's settings: a flag, the environment, the
// config file or the default.
func sourceOf(f *cmdutil.Factory) func(c *cfgpkg.Config, name string) string {
	return func(c *cfgpkg.Config, name string) string {
		return c.Source(name, f.Globals.ConfigFlags, f.Getenv)
	}
}

// NewCmdGet builds `certctl config get`.
func NewCmdGet(f *cmdutil.Factory, runF func(*GetOptions) error) *cobra.Command {
	opts := &GetOptions{Printer: f.Printer, Config: f.ConfigForDisplay, Source: sourceOf(f)}
	return &cobra.Command{
		Use:   "get KEY",
		Short: "Print one setting's effective value",
		Long: `Print one setting's effective value: the value alone (-o text, or a table on a
terminal), or {"Key","Value","Source"} with -o json, Source saying where it comes
from as config list names it (flag, env, file or default).` + cmdutil.ExitStatus(0, 2, 3),
		Args:              cmdutil.ExactArgs(1, "KEY"),
		ValidArgsFunction: completeKey,
		RunE: keyRunE(&opts.Key, func() error {
			if runF != nil {
				return runF(opts)
			}
			return runGet(opts)
		}),
	}
}

func runGet(o *GetOptions) error {
	c, err := o.Config()
	if err != nil {
		return err
	}
	p, err := o.Printer()
	if err != nil {
		return err
	}
	val := c.Shown(o.Key)
	return p.Print(UnsetOutput{Key: o.Key, Value: val, Source: o.Source(c, o.Key)}, output.View{
		Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{val}}} },
		Records: func() [][]string { return [][]string{{val}} },
	})
}

// SetOptions are the inputs of config set.
type SetOptions struct {
	IO      *iostreams.IOStreams
	Printer func() (*output.Printer, error)
	// File is the config file to write: --config, else CERTCTL_CONFIG,
	// else the default file.
	File func() string

	Key   string
	Value string
}

// configFile is the config file config set and unset write: --config,
// else CERTCTL_CONFIG, else the default file.
func configFile(f *cmdutil.Factory) func() string {
	return func() string {
		if file := f.Globals.ConfigFile; file != "" {
			return file
		}
		if file := f.Getenv("CERTCTL_CONFIG"); file != "" {
			return file
		}
		return cfgpkg.DefaultFile(f.Getenv)
	}
}

// NewCmdSet builds `certctl config set`.
func NewCmdSet(f *cmdutil.Factory, runF func(*SetOptions) error) *cobra.Command {
	opts := &SetOptions{IO: f.IO, Printer: f.Printer, File: configFile(f)}
	return &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Write one setting to the config file",
		Long: `Write one setting to the config file (created 0600 if absent), keeping the others
and the file's comments (a setting already there keeps its place).
Lists are comma-separated. A value is checked against its key's type and range
first (a duration must parse and be positive, a port be 1-65535,
quotas.domains_per_certificate 1-100, …): a value refused (exit 4) never reaches
the file. Running servers keep the settings they started with: restart them.

It prints the setting as config get prints it ({"Key","Value"} with -o json,
the value with -o text; a secret in a store URL hidden), and on a terminal the
file it wrote; -q prints nothing.` + cmdutil.ExitStatus(0, 2, 3, 4),
		Example:           "  certctl config set certificate_validity 90d\n  certctl config set validation.resolvers 127.0.0.1:53,127.0.0.1:5353",
		Args:              cmdutil.ExactArgs(2, "KEY", "VALUE"),
		ValidArgsFunction: completeKeyValue,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Key, opts.Value = args[0], args[1]
			k, err := lookup(opts.Key)
			if err != nil {
				return err
			}
			if err := cfgpkg.Validate(k, opts.Value); err != nil {
				return errs.Invalidf("setting %s: %v", k.Name, err)
			}
			if runF != nil {
				return runF(opts)
			}
			return runSet(opts)
		},
	}
}

// runSet writes the setting and answers as every change command does: with
// what is now set, in config get's shape, so that a script reads either
// (tester: -o json printed nothing on stdout).
func runSet(o *SetOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	file := o.File()
	if file == "" {
		return cmdutil.NoHomeError("the config file with --config or CERTCTL_CONFIG")
	}
	edit, err := cfgpkg.SetSetting(file, o.Key, o.Value)
	if err != nil {
		return errs.Invalidf("%v", err)
	}
	commentsDropped(o.IO, file, edit)
	val := cfgpkg.ShownValue(o.Key, o.Value)
	return p.Acknowledge(map[string]string{"Key": o.Key, "Value": val}, output.View{
		Table: func(*output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{{"Set", o.Key}, {"Value", val}, {"File", file}}}
		},
		Records: func() [][]string { return [][]string{{val}} },
	})
}

// UnsetOptions are the inputs of config unset.
type UnsetOptions struct {
	IO      *iostreams.IOStreams
	Printer func() (*output.Printer, error)
	File    func() string
	Quiet   func() bool
	// Config reads the settings in effect (after the edit); Source tells
	// where a setting's value comes from, as for config list.
	Config func() (*cfgpkg.Config, error)
	Source func(c *cfgpkg.Config, name string) string

	Key string
}

// NewCmdUnset builds `certctl config unset`.
func NewCmdUnset(f *cmdutil.Factory, runF func(*UnsetOptions) error) *cobra.Command {
	opts := &UnsetOptions{IO: f.IO, Printer: f.Printer, Quiet: func() bool { return f.Globals.Quiet }, File: configFile(f),
		Config: f.ConfigForDisplay, Source: sourceOf(f)}
	return &cobra.Command{
		Use:   "unset KEY",
		Short: "Remove one setting from the config file",
		Long: `Remove one setting from the config file, keeping the others and the file's
comments (a section the setting leaves empty goes), so that its default
applies again (or CERTCTL_<KEY>, when set). A file that does not hold the
setting is left as it is. A key of the file that names no setting (a typo,
or one an older or newer certctl knew) is removed too: every command but
config refuses to run while the file holds one.

It prints the value now in effect, as config get prints it, and where it
comes from, as config list names it ({"Key","Value","Source"} with -o json,
the value with -o text; a secret in a store URL hidden), and on a terminal
the file it wrote; -q prints nothing.` + cmdutil.ExitStatus(0, 2, 3, 4),
		Example:           "  certctl config unset validation.resolvers",
		Args:              cmdutil.ExactArgs(1, "KEY"),
		ValidArgsFunction: completeKey,
		// Not keyRunE: a key of the file that names no setting is
		// removed too (cfgpkg.UnsetSetting; tester: certctl could not
		// remove the key that stopped every command).
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Key = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runUnset(opts)
		},
	}
}

// commentsDropped says, even with -q, that the file was printed afresh
// without its comments (review: it went without a word).
func commentsDropped(io *iostreams.IOStreams, file string, e cfgpkg.Edit) {
	if e.CommentsDropped {
		cmdutil.PrintNotices(io, "note: "+file+" was written afresh from its settings, without its comments: its YAML anchors or aliases could not be kept in an edit in place")
	}
}

// UnsetOutput is the JSON form of config get and config unset: the key,
// the value in effect (after unset: now), and its Source (flag, env, file
// or default).
type UnsetOutput struct {
	Key    string `json:"Key"`
	Value  string `json:"Value"`
	Source string `json:"Source"`
}

// runUnset removes the setting and answers as config set does (tester:
// -o json printed nothing on stdout): with the value now in effect — the
// default, or the environment's or a flag's — in config get's shape, and
// its Source, config list's word for where it comes from.
func runUnset(o *UnsetOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	file := o.File()
	if file == "" {
		return cmdutil.NoHomeError("the config file with --config or CERTCTL_CONFIG")
	}
	edit, err := cfgpkg.UnsetSetting(file, o.Key)
	var unknown *cfgpkg.UnknownSettingError
	switch {
	case errors.As(err, &unknown):
		_, err := lookup(o.Key) // not found, as for config get
		return err
	case err != nil:
		return errs.Invalidf("%v", err)
	}
	commentsDropped(o.IO, file, edit)
	if edit.Unknown {
		// No value in effect to show: the key names no setting.
		if !o.Quiet() {
			cmdutil.PrintNotices(o.IO, "removed "+o.Key+", which names no setting, from "+file)
		}
		return p.Acknowledge(UnsetOutput{Key: o.Key}, output.View{
			Table: func(*output.Styles) *output.Table {
				return &output.Table{Rows: [][]string{{"Unset", o.Key}, {"File", file}}}
			},
			// The key removed, not an empty line (review).
			Records: func() [][]string { return [][]string{{o.Key}} },
		})
	}
	if !edit.Changed && !o.Quiet() {
		if _, err := o.IO.ErrOut.Write([]byte(file + " does not set " + o.Key + "\n")); err != nil {
			return err
		}
	}
	c, err := o.Config()
	if err != nil {
		return err
	}
	val, src := c.Shown(o.Key), o.Source(c, o.Key)
	return p.Acknowledge(UnsetOutput{Key: o.Key, Value: val, Source: src}, output.View{
		Table: func(s *output.Styles) *output.Table {
			rows := [][]string{{"Unset", o.Key}, {"Value", val}, {"Source", s.Dim(src)}}
			if edit.Changed {
				rows = append(rows, []string{"File", file})
			}
			return &output.Table{Rows: rows}
		},
		Records: func() [][]string { return [][]string{{val}} },
	})
}
