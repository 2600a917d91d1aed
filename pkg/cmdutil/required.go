package cmdutil

import (
	"strings"

	"github.com/certctl/certctl/pkg/errs"
)

// RequireFlags is the usage error (exit 2) naming, of the flags given as
// name, value pairs ("csr", o.CSRFile, "validity", o.Validity), those
// whose value is empty — only those (tester: "--csr and --validity are
// required" when --validity alone was missing) — and nil when none is.
func RequireFlags(pairs ...string) error {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			missing = append(missing, "--"+pairs[i])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return errs.UsageErrorf("%s", RequiredWords(missing))
}

// RequiredWords says that flags (named with their dashes) are required:
// "--a is required", "--a, --b and --c are required".
func RequiredWords(flags []string) string {
	if len(flags) == 1 {
		return flags[0] + " is required"
	}
	return strings.Join(flags[:len(flags)-1], ", ") + " and " + flags[len(flags)-1] + " are required"
}
