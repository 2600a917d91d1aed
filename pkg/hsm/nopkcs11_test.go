//go:build !(pkcs11 && cgo)

package hsm

import (
	"errors"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
)

// TestUnsupported: the default build has no backend and says how to get
// one.
func TestUnsupported(t *testing.T) {
	if Supported() {
		t.Fatal("Supported() in a build without the pkcs11 tag")
	}
	_, err := (&Opener{Settings: Settings{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "t", PINFile: "/dev/null"}}).Open()
	if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), "built without PKCS#11 support") {
		t.Fatalf("%v", err)
	}
	var e *errs.Error
	if !errors.As(err, &e) || !strings.Contains(e.Hint, "-tags pkcs11") {
		t.Errorf("hint %q", e.Hint)
	}
}
