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

// TestCodeSyntaxNamesTheAlphabet: a code of 32 characters refused for one
// outside the alphabet (a 0 typed for an O) is told which characters a
// code holds, not that it is 32 letters and digits (tester); the count is
// of what is read, spaces and dashes left out. A well-formed code passes.
func TestCodeSyntaxNamesTheAlphabet(t *testing.T) {
	err := CheckCodeSyntax("7KQ2M4XN5T3JH6PB2W7C4D6FZR5V0Y3Z")
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "A-Z and the digits 2-7") || !strings.Contains(err.Error(), "32 characters given") {
		t.Fatalf("a 0 in a code: %v", err)
	}
	if err := CheckCodeSyntax("7KQ2-M4XN 5T3J-H6PB-2W7C-4D6F-ZR5V-AY3Z-x"); err == nil || !strings.Contains(err.Error(), "33 characters given") {
		t.Fatalf("33 characters with dashes and a space: %v", err)
	}
	if err := CheckCodeSyntax("7kq2-m4xn-5t3j-h6pb-2w7c-4d6f-zr5v-ay3z"); err != nil {
		t.Fatalf("a well-formed code in lower case, with dashes: %v", err)
	}
}
