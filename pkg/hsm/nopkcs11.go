//go:build !(pkcs11 && cgo)

package hsm

// supported is false: this build has no PKCS#11 backend (it needs cgo and
// the build tag pkcs11).
const supported = false

func open(Settings, []byte) (closer, error) { return nil, ErrUnsupported() }
