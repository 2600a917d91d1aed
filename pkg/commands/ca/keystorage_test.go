package ca

import (
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

// TestCaCreateKeyStorageFlags: --key-storage PKCS11 and its key label reach
// the request; VAULT is the default (and digests as before); an unknown
// storage, or a label without PKCS11, is a usage error.
func TestCaCreateKeyStorageFlags(t *testing.T) {
	base := []string{"--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=HSM Root"}
	o, err := flagtest.Parse(t, NewCmdCaCreate, append(base, "--key-storage", "PKCS11", "--pkcs11-key-label", "root key")...)
	if err != nil || o.Request.KeyStorage != "PKCS11" || o.Request.KeyLabel != "root key" {
		t.Fatalf("%+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdCaCreate, append(base, "--key-storage", "VAULT")...)
	if err != nil || o.Request.KeyStorage != "" || o.Request.KeyLabel != "" {
		t.Fatalf("VAULT: %+v, %v", o, err)
	}
	wantExit(t, NewCmdCaCreate, errs.ExitUsage,
		append(base, "--key-storage", "HSM"),
		append(base, "--key-storage", "pkcs11"),
		append(base, "--pkcs11-key-label", "k"),
		append(base, "--key-storage", "VAULT", "--pkcs11-key-label", "k"),
	)
}

// TestCaImportKeyStorageFlags: `ca import --key-storage PKCS11
// --pkcs11-key-label L` takes no private key file; VAULT still needs one.
func TestCaImportKeyStorageFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdCaImport, "--certificate", "ca.pem", "--key-storage", "PKCS11", "--pkcs11-key-label", "L")
	if err != nil || o.KeyStorage != "PKCS11" || o.KeyLabel != "L" || o.KeyFile != "" || o.CertFile != "ca.pem" {
		t.Fatalf("%+v, %v", o, err)
	}
	wantExit(t, NewCmdCaImport, errs.ExitUsage,
		[]string{"--certificate", "ca.pem", "--key-storage", "PKCS11"},                                                  // no label
		[]string{"--certificate", "ca.pem", "--key-storage", "PKCS11", "--pkcs11-key-label", "L", "--private-key", "k"}, // both
		[]string{"--certificate", "ca.pem", "--private-key", "k", "--pkcs11-key-label", "L"},                            // label without PKCS11
		[]string{"--certificate", "ca.pem", "--key-storage", "TPM", "--pkcs11-key-label", "L"},
		[]string{"--key-storage", "PKCS11", "--pkcs11-key-label", "L"}, // no certificate
	)
}
