package cmdutil

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
)

// GroupArgs is the Args of a command that only groups subcommands (the
// root, `certctl ca`, `certctl vault`, …): a word that names none of its
// subcommands is an unknown command (exit 2) with a "did you mean". Cobra
// checks a subcommand's arguments only when Args is set, and given an
// unknown word a group without it prints its help and exits 0 — a
// mistyped `vault verify` in a cron job would look like success. Pair it
// with RunE: GroupRunE; TestGroupsRefuseUnknownCommands (pkg/commands/root)
// holds every group to both.
func GroupArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return UnknownCommand(cmd, args[0])
	}
	return nil
}

// GroupRunE is the RunE of a command that only groups subcommands: alone
// it prints its help on stderr and is a usage error (exit 2, a missing
// argument), so that a script's `certctl ca "$SUB"` with SUB empty fails
// instead of printing help where JSON was expected (tester); a person at
// a terminal sees the help all the same. `certctl CMD --help` prints it
// on stdout and exits 0. See GroupArgs.
func GroupRunE(cmd *cobra.Command, args []string) error {
	if err := GroupArgs(cmd, args); err != nil {
		return err
	}
	cmd.SetOut(cmd.ErrOrStderr())
	if err := cmd.Help(); err != nil {
		return err
	}
	if !cmd.HasParent() {
		return errs.UsageErrorf("missing command (the commands are listed above)")
	}
	return errs.UsageErrorf("%s: missing command (its commands are listed above)", CommandName(cmd))
}

// UnknownCommand is the usage error for word, which names no subcommand
// of the group cmd, naming the subcommands it was probably mistyped from.
func UnknownCommand(cmd *cobra.Command, word string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			names = append(names, c.Name())
			names = append(names, c.Aliases...)
		}
	}
	msg := "unknown command " + strconv.Quote(word) + " for " + cmd.CommandPath()
	// Cobra's SuggestionsFor would offer csr for lst (it allows two edits
	// in any word): Nearest allows one in a short word, and a word of
	// three letters or more that begins a name (`cert`) suggests it too.
	sugg := enum.Nearest(word, names)
	if h, ok := habitNames[cmd.CommandPath()][word]; ok {
		// An AWS CLI operation or a shell habit names certctl's own
		// command (tester: list-certificates got no suggestion).
		sugg = append([]string{h}, sugg...)
	}
	for _, n := range names {
		if len(word) >= 3 && n != word && strings.HasPrefix(n, strings.ToLower(word)) && !slices.Contains(sugg, n) {
			sugg = append(sugg, n)
		}
	}
	if len(sugg) > 0 {
		msg += ": did you mean " + strings.Join(sugg, " or ") + "?"
	}
	return errs.UsageErrorf("%s", msg)
}

// habitNames are, for each group, the words users bring from the AWS CLI
// (acm and acm-pca operations) and the shell, and the command of certctl
// each means.
var habitNames = map[string]map[string]string{
	"certctl": {
		"list-certificates": "list", "describe-certificate": "describe", "request-certificate": "request",
		"import-certificate": "import", "export-certificate": "export", "get-certificate": "export",
		"delete-certificate": "delete", "renew-certificate": "renew", "revoke-certificate": "revoke",
		"search-certificates": "search", "add-tags-to-certificate": "tags add",
		"remove-tags-from-certificate": "tags remove", "list-tags-for-certificate": "tags list",
		"get-account-configuration": "account-config get", "put-account-configuration": "account-config put",
		"ls": "list", "rm": "delete", "show": "describe", "inspect": "describe", "get": "describe",
		"create": "request", "new": "request", "issue": "request", "version": "--version",
	},
	"certctl ca": {
		"list-certificate-authorities": "list", "describe-certificate-authority": "describe",
		"create-certificate-authority": "create", "delete-certificate-authority": "delete",
		"restore-certificate-authority": "restore", "update-certificate-authority": "update",
		"issue-certificate": "issue", "get-certificate-authority-csr": "csr",
		"import-certificate-authority-certificate":  "import-certificate",
		"create-certificate-authority-audit-report": "audit-report", "describe-certificate-authority-audit-report": "audit-report",
		"ls": "list", "show": "describe", "inspect": "describe", "sign": "issue", "rm": "delete",
	},
}

// HabitNames returns, for each group's command path, the habits'
// words and the certctl command each suggests (for tests).
func HabitNames() map[string]map[string]string { return habitNames }

// FlagError is the root's flag error function (cobra calls it for every
// command): an error of pflag's becomes a usage error (exit 2). An
// unknown flag after an unknown word given to a group (`certctl reqest
// --domain-name x`) is reported as the unknown command, the mistake that
// came first; an unknown long flag is answered with the command's flags
// it was probably mistyped from.
func FlagError(cmd *cobra.Command, err error) error {
	if cmd.HasAvailableSubCommands() {
		if args := cmd.Flags().Args(); len(args) > 0 {
			return UnknownCommand(cmd, args[0])
		}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var names []string
		visit := func(fl *pflag.Flag) {
			if !fl.Hidden {
				names = append(names, fl.Name)
			}
		}
		cmd.Flags().VisitAll(visit)
		cmd.InheritedFlags().VisitAll(visit)
		sugg := enum.Nearest(name, names)
		if len(sugg) == 0 && len(name) >= 3 {
			// The first words of a flag (--domain for --domain-name;
			// tester): the flags they begin, when few do.
			for _, n := range names {
				if strings.HasPrefix(n, name+"-") {
					sugg = append(sugg, n)
				}
			}
			if len(sugg) > 3 {
				sugg = nil
			}
		}
		if len(sugg) > 0 {
			msg += ": did you mean --" + strings.Join(sugg, " or --") + "?"
		}
	}
	// pflag's message for a bad boolean quotes strconv's: say what is
	// accepted instead.
	if head, _, ok := strings.Cut(msg, ": strconv.ParseBool: "); ok {
		msg = head + ": want true or false (or the flag alone, for true)"
	}
	var ce *errs.Error
	if errors.As(err, &ce) {
		return err
	}
	return errs.UsageErrorf("%s", msg)
}
