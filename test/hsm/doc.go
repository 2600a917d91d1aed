// Package hsm holds the process-level tests of CA keys in a PKCS#11 token
// (`ca create|import --key-storage PKCS11`) against SoftHSM2: a token root
// and subordinate issue through request, ca issue and ACME; openssl
// verifies the chains, CRLs and OCSP responses the token keys signed; zlint
// finds nothing; pkcs11-tool shows the keys sensitive and never
// extractable; nothing of them (nor the PIN) is in the vault or any
// output; a wrong PIN, a missing module and a removed token exit 6 naming
// the setting and leave the vault as it was.
//
// Build tag pkcs11: `CGO_ENABLED=1 go test -tags pkcs11 ./test/hsm`.
// TestMain builds certctl with the same tag. Each test makes its own
// SoftHSM2 token in a temporary directory (its own SOFTHSM2_CONF), so
// nothing global is needed. Without softhsm2-util or the module the tests
// skip, unless CERTCTL_REQUIRE_INTEROP=1 (CI), where they fail.
package hsm
