package cmdutil

import (
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/iostreams"
)

// TestWarnOnce: a setting's warning met again in one process (a secret
// file read at each send of a renew --due pass) is printed once; another
// warning is printed too (review: one a certificate).
func TestWarnOnce(t *testing.T) {
	s, _, _, errOut := iostreams.Test()
	f := &Factory{IO: s}
	for i := 0; i < 3; i++ {
		f.warn("warning: smtp.password_file p can be read by every user")
	}
	f.warn("warning: pkcs11.pin_file q can be read by every user")
	if got := errOut.String(); strings.Count(got, "smtp.password_file") != 1 || strings.Count(got, "pkcs11.pin_file") != 1 {
		t.Errorf("stderr:\n%s", got)
	}
}
