package validation

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
)

// TestCodeSyntaxNeverEchoesTheCode: a real code pasted with its label, or
// with one character wrong, must not be printed back in the error.
func TestCodeSyntaxNeverEchoesTheCode(t *testing.T) {
	code := "7A5SQ2XK9M3PB6TN4WD8FJ1HC0RVYGEL"
	for _, in := range []string{"Approval code: " + code, code + "!", code[:31]} {
		err := CheckCodeSyntax(in)
		if errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Fatalf("%q: %v", in, err)
		}
		if strings.Contains(err.Error(), code[:16]) {
			t.Errorf("the error echoes the code: %v", err)
		}
	}
}
