package describe_test

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
)

// TestCompletionEscapesNames: the completion of a certificate argument
// describes each certificate by its name with control characters escaped:
// an imported certificate named with an escape sequence does not rewrite
// the terminal through the shell's menu (tester: ESC, BEL reached zsh's).
func TestCompletionEscapesNames(t *testing.T) {
	e := clitest.New(t)
	e.ImportNamed("evil\x1b[31mRED\x1b[2J.example.test")
	r := e.MustRun("__complete", "describe", "")
	if strings.ContainsAny(r.Stdout, "\x1b\a") || !strings.Contains(r.Stdout, `evil\x1b[31mRED\x1b[2J.example.test`) {
		t.Errorf("completion: %q", r.Stdout)
	}
}
