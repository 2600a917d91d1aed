package cmdutil

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
)

// Confirm asks a yes/no question (format, a) on stderr and reads the
// answer from stdin: anything but y or yes is a refusal (exit 5) with the
// message refused (e.g. "not deleted"). Call it when s.CanPrompt() and the
// user did not pass --yes; in a pipe, commands proceed without asking.
func Confirm(s *iostreams.IOStreams, refused, format string, a ...any) error {
	fmt.Fprintf(s.ErrOut, format+" [y/N] ", a...)
	line, _ := bufio.NewReader(s.In).ReadString('\n')
	if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
		return errs.Refusedf("%s", refused)
	}
	return nil
}
