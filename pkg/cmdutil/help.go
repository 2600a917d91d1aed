package cmdutil

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var exitMeaning = map[int]string{
	0: "success",
	1: "unexpected runtime failure",
	2: "usage error (unknown flag or value, missing argument)",
	3: "not found",
	4: "invalid input (bad PEM, key mismatch, bad name, bad filter, bad setting)",
	5: "refused by state or rule",
	6: "vault unavailable (locked, wrong passphrase, corrupt)",
	7: "partial failure in a batch",
	8: "timed out waiting",
}

// ExitStatus renders the EXIT STATUS section of a command's long help:
// codes, and 4, which every command can return — a bad setting from the
// environment or the config file, or an unreadable --vault-passphrase-file,
// is refused before the command runs (Factory.Config).
//
// Every command but a server also says what an interruption does: it is
// reported, and certctl then dies of the signal (a shell shows 130 or
// 143), but for a batch, which reports each item and exits 7 when it left
// some not done.
func ExitStatus(codes ...int) string {
	line := "  130/143  interrupted by SIGINT (Ctrl-C) or SIGTERM: said, then certctl dies of the signal\n"
	if slices.Contains(codes, 7) {
		line += "           (a batch reports each item instead: exit 7 if it left any not done)\n"
	}
	return exitStatus(codes, line)
}

// ServerExitStatus is ExitStatus for a server, which runs until SIGINT or
// SIGTERM stops it, and then exits 0.
func ServerExitStatus(codes ...int) string {
	return exitStatus(codes, "  (stopped by SIGINT or SIGTERM, it exits 0)\n")
}

func exitStatus(codes []int, interrupted string) string {
	var b strings.Builder
	b.WriteString("\n\nEXIT STATUS\n")
	if !slices.Contains(codes, 4) {
		codes = append(slices.Clone(codes), 4)
		slices.Sort(codes)
	}
	for _, c := range codes {
		fmt.Fprintf(&b, "  %d  %s\n", c, exitMeaning[c])
	}
	b.WriteString(interrupted)
	return strings.TrimRight(b.String(), "\n")
}

// EnumCompletion completes a flag's enumerated values. A list-valued flag
// (a string array or slice: repeatable and comma-separated, SPEC section 3)
// is completed item by item, see CompleteEnum. Values of the form K=V (the
// items of --options) stand for key K: once K is given, no other value of
// K is offered.
func EnumCompletion(cmd *cobra.Command, flag string, values []string) {
	list := false
	if fl := cmd.Flags().Lookup(flag); fl != nil {
		switch fl.Value.Type() {
		case "stringArray", "stringSlice":
			list = true
		}
	}
	_ = cmd.RegisterFlagCompletionFunc(flag, CompleteEnum(flag, values, list))
}

// CompleteEnum completes the enumerated values of flag. For a single value
// it offers every value (file completion off). For a list it completes the
// item after the last comma of what is typed: each candidate carries the
// items already typed (`ISSUED,` → `ISSUED,PENDING_VALIDATION`, …), so that
// the shell's prefix filter keeps it; values already given (typed before,
// or in an earlier occurrence of the flag) are left out; and while more
// items can follow, no space is added after the completion.
func CompleteEnum(flag string, values []string, list bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if !list {
			return values, cobra.ShellCompDirectiveNoFileComp
		}
		prefix := ""
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			prefix = toComplete[:i+1]
		}
		used := map[string]bool{}
		typed := []string{prefix}
		if fl := cmd.Flags().Lookup(flag); fl != nil && fl.Changed {
			if sv, ok := fl.Value.(pflag.SliceValue); ok {
				typed = append(typed, sv.GetSlice()...)
			}
		}
		for _, t := range typed {
			for _, item := range strings.Split(t, ",") {
				if item = strings.TrimSpace(item); item != "" {
					used[enumKey(item)] = true
				}
			}
		}
		var out []string
		left := map[string]bool{}
		for _, v := range values {
			if k := enumKey(v); !used[k] {
				out = append(out, prefix+v)
				left[k] = true
			}
		}
		if len(left) > 1 {
			// Whichever is chosen, another item can follow.
			return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// enumKey is what an item of a list flag stands for: K for K=V, else
// the item itself.
func enumKey(item string) string {
	if k, _, ok := strings.Cut(item, "="); ok {
		return k + "="
	}
	return item
}
