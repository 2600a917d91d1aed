package cmdutil

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// FlagAliases makes each key of aliases another name of the flag it maps
// to, for the names the AWS CLI gives the same input (aws acm-pca
// issue-certificate --template-arn is ca issue --template), so that a
// script written for it needs fewer changes. An alias is read as its
// flag's name everywhere (help, messages, completion), so it shows
// nowhere.
func FlagAliases(cmd *cobra.Command, aliases map[string]string) {
	cmd.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if to, ok := aliases[name]; ok {
			name = to
		}
		return pflag.NormalizedName(name)
	})
}
