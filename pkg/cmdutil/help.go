package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

var exitMeaning = map[int]string{
	0: "success",
	1: "unexpected runtime failure",
	2: "usage error (unknown flag or value, missing argument)",
	3: "not found",
	4: "invalid input (bad PEM, key mismatch, bad name, bad filter)",
	5: "refused by state or rule",
	6: "vault unavailable (locked, wrong passphrase, corrupt)",
	7: "partial failure in a batch",
	8: "timed out waiting",
}

// ExitStatus renders the EXIT STATUS section of a command's long help.
func ExitStatus(codes ...int) string {
	var b strings.Builder
	b.WriteString("\n\nEXIT STATUS\n")
	for _, c := range codes {
		fmt.Fprintf(&b, "  %d  %s\n", c, exitMeaning[c])
	}
	return strings.TrimRight(b.String(), "\n")
}

// EnumCompletion completes a flag's enumerated values.
func EnumCompletion(cmd *cobra.Command, flag string, values []string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}
