// Package config implements `certctl config list|get|set`.
package config

import (
	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	cfgpkg "github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/errs"
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
${XDG_CONFIG_HOME:-~/.config}/certctl/config.yaml (or --config), or its default.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.GroupRunE,
	}
	keys := make([]string, len(cfgpkg.Keys))
	for i, k := range cfgpkg.Keys {
		keys[i] = k.Name
	}
	completeKey := func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return keys, cobra.ShellCompDirectiveNoFileComp
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List every setting with its value and where it comes from",
		Long:  "List every setting with its effective value and its source (flag, env, file, default)." + cmdutil.ExitStatus(0, 2),
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.Printer()
			if err != nil {
				return err
			}
			c, err := f.Config()
			if err != nil {
				return err
			}
			out := ListOutput{ConfigFile: c.File}
			for _, k := range cfgpkg.Keys {
				out.Settings = append(out.Settings, Setting{
					Key: k.Name, Value: c.Shown(k.Name), Env: cfgpkg.EnvName(k.Name), Help: k.Help,
					Source: c.Source(k.Name, f.Globals.ConfigFlags, f.Getenv),
				})
			}
			return p.Print(out, output.View{
				Table: func(s *output.Styles) *output.Table {
					t := &output.Table{Headers: []string{"KEY", "VALUE", "SOURCE"}, Footer: s.Dim("config file: " + c.File)}
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
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:               "get KEY",
		Short:             "Print one setting's effective value",
		Long:              "Print one setting's effective value." + cmdutil.ExitStatus(0, 2, 3),
		Args:              cmdutil.ExactArgs(1, "KEY"),
		ValidArgsFunction: completeKey,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, ok := cfgpkg.LookupKey(args[0])
			if !ok {
				return errs.NotFoundf("unknown setting %q", args[0]).WithHint("see `certctl config list`")
			}
			c, err := f.Config()
			if err != nil {
				return err
			}
			p, err := f.Printer()
			if err != nil {
				return err
			}
			val := c.Shown(k.Name)
			return p.Print(map[string]string{"Key": k.Name, "Value": val}, output.View{
				Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{val}}} },
				Records: func() [][]string { return [][]string{{val}} },
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:               "set KEY VALUE",
		Short:             "Write one setting to the config file",
		Long:              "Write one setting to the config file (created 0600 if absent), keeping the others.\nLists are comma-separated." + cmdutil.ExitStatus(0, 2, 3, 4),
		Example:           "  certctl config set certificate_validity 90d\n  certctl config set validation.resolvers 127.0.0.1:53,127.0.0.1:5353",
		Args:              cmdutil.ExactArgs(2, "KEY", "VALUE"),
		ValidArgsFunction: completeKey,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, ok := cfgpkg.LookupKey(args[0]); !ok {
				return errs.NotFoundf("unknown setting %q", args[0]).WithHint("see `certctl config list`")
			}
			file := f.Globals.ConfigFile
			if file == "" {
				file = f.Getenv("CERTCTL_CONFIG")
			}
			if file == "" {
				file = cfgpkg.DefaultFile(f.Getenv)
			}
			if err := cfgpkg.Set(file, args[0], args[1]); err != nil {
				return errs.Invalidf("%v", err)
			}
			if !f.Globals.Quiet {
				f.IO.ErrOut.Write([]byte("Set " + args[0] + " in " + file + "\n"))
			}
			return nil
		},
	})
	return cmd
}
