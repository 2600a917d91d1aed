package cmdutil

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// FlagAliases makes each key of aliases another name of the flag it maps
// to, for the names the AWS CLI gives the same input (aws acm-pca
// revoke-certificate --certificate-serial is ca revoke-certificate
// --serial): a script written for it runs unchanged. An alias is read
// as its flag's name everywhere (help, messages, completion), so it
// shows nowhere.
func FlagAliases(cmd *cobra.Command, aliases map[string]string) {
	cmd.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if to, ok := aliases[name]; ok {
			name = to
		}
		return pflag.NormalizedName(name)
	})
}
