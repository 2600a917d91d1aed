package localstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/crypto/scrypt"
)

// Files of the vault directory.
const (
	DatabaseFile      = "vault.db"
	MasterKeyFile     = "master.key"
	WrappedMasterFile = "master.key.enc"
)

// ErrLocked is returned when the master key is wrapped by a passphrase that
// was not given.
var ErrLocked = errors.New("the vault is locked by a passphrase")

// ErrWrongPassphrase is returned when the passphrase does not unwrap the key.
var ErrWrongPassphrase = errors.New("wrong vault passphrase")

// ScryptParams are the parameters of the key-derivation function that wraps
// the master key.
type ScryptParams struct {
	N int `json:"n"`
	R int `json:"r"`
	P int `json:"p"`
}

// DefaultScrypt is strong: about a quarter of a second and 128 MiB.
var DefaultScrypt = ScryptParams{N: 1 << 17, R: 8, P: 1}

// wrappedKey is the JSON content of master.key.enc.
type wrappedKey struct {
	KDF    string       `json:"kdf"`
	Params ScryptParams `json:"params"`
	Salt   []byte       `json:"salt"`
	Nonce  []byte       `json:"nonce"`
	Sealed []byte       `json:"sealed"`
}

const wrapAAD = "certctl master key v1"

// Sealer seals and opens secrets with AES-256-GCM under the master key. The
// additional data binds each ciphertext to the record it belongs to, so a
// sealed value copied to another record does not open.
type Sealer struct {
	aead cipher.AEAD
	// auditKey keys the audit log's HMAC chain; it is derived from the
	// master key (HKDF-SHA256), so it changes only with the master key.
	auditKey []byte
	// nonceKey authenticates the ACME servers' nonces, derived likewise:
	// every server that shares the vault's master key shares it.
	nonceKey []byte
}

// auditKeyInfo is the HKDF info of the audit chain's key.
const auditKeyInfo = "certctl audit chain v1"

// AuditKey is the key of the audit log's HMAC chain.
func (s *Sealer) AuditKey() []byte { return s.auditKey }

// nonceKeyInfo is the HKDF info of the ACME nonce key.
const nonceKeyInfo = "certctl acme nonce v1"

// NonceKey is the key that authenticates ACME nonces.
func (s *Sealer) NonceKey() []byte { return s.nonceKey }

func newSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: master key has %d bytes, want 32", ErrCorrupt, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	auditKey, err := hkdf.Key(sha256.New, key, nil, auditKeyInfo, 32)
	if err != nil {
		return nil, err
	}
	nonceKey, err := hkdf.Key(sha256.New, key, nil, nonceKeyInfo, 32)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, auditKey: auditKey, nonceKey: nonceKey}, nil
}

const sealVersion = 1

// Seal encrypts plaintext bound to ref.
func (s *Sealer) Seal(ref string, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, plaintext, []byte(ref)), nil
}

// Open decrypts a value sealed for ref.
func (s *Sealer) Open(ref string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: sealed secret %q is malformed", ErrCorrupt, ref)
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(ref))
	if err != nil {
		return nil, fmt.Errorf("%w: sealed secret %q does not open under the master key", ErrCorrupt, ref)
	}
	return pt, nil
}

// loadOrCreateMasterKey returns the vault's master key, creating it on first
// use: in clear in a 0600 file, or wrapped by passphrase when one is given.
func loadOrCreateMasterKey(dir string, passphrase []byte, params ScryptParams) ([]byte, error) {
	wrappedPath := filepath.Join(dir, WrappedMasterFile)
	plainPath := filepath.Join(dir, MasterKeyFile)
	for attempt := 0; attempt < 3; attempt++ {
		if data, err := os.ReadFile(wrappedPath); err == nil {
			if passphrase == nil {
				return nil, ErrLocked
			}
			return unwrapKey(data, passphrase)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if data, err := os.ReadFile(plainPath); err == nil {
			if len(data) != 32 {
				return nil, fmt.Errorf("%w: %s has %d bytes, want 32", ErrCorrupt, MasterKeyFile, len(data))
			}
			return data, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		key := make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, key); err != nil {
			return nil, err
		}
		content, target := key, plainPath
		if passphrase != nil {
			w, err := wrapKey(key, passphrase, params)
			if err != nil {
				return nil, err
			}
			content, target = w, wrappedPath
		}
		created, err := createExclusive(target, content)
		if err != nil {
			return nil, err
		}
		if created {
			return key, nil
		}
		// Another process created the key first: loop and read theirs.
	}
	return nil, errors.New("could not create or read the vault master key")
}

// createExclusive writes content to path only if path does not exist, so that
// two processes creating a vault at once agree on one key. It reports whether
// this call created the file.
func createExclusive(path string, content []byte) (bool, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-key-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func deriveKEK(passphrase, salt []byte, p ScryptParams) ([]byte, error) {
	return scrypt.Key(passphrase, salt, p.N, p.R, p.P, 32)
}

func wrapKey(key, passphrase []byte, p ScryptParams) ([]byte, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(rand.Reader, salt); err != nil {
		return nil, err
	}
	kek, err := deriveKEK(passphrase, salt, p)
	if err != nil {
		return nil, err
	}
	s, err := newSealer(kek)
	if err != nil {
		return nil, err
	}
	sealed, err := s.Seal(wrapAAD, key)
	if err != nil {
		return nil, err
	}
	return json.Marshal(wrappedKey{KDF: "scrypt", Params: p, Salt: salt, Sealed: sealed})
}

func unwrapKey(data, passphrase []byte) ([]byte, error) {
	var w wrappedKey
	if err := json.Unmarshal(data, &w); err != nil || w.KDF != "scrypt" {
		return nil, fmt.Errorf("%w: %s is unreadable", ErrCorrupt, WrappedMasterFile)
	}
	if w.Params.N < 2 || w.Params.N > 1<<22 || w.Params.R < 1 || w.Params.R > 64 || w.Params.P < 1 || w.Params.P > 16 {
		return nil, fmt.Errorf("%w: %s has unusable KDF parameters", ErrCorrupt, WrappedMasterFile)
	}
	kek, err := deriveKEK(passphrase, w.Salt, w.Params)
	if err != nil {
		return nil, err
	}
	s, err := newSealer(kek)
	if err != nil {
		return nil, err
	}
	key, err := s.Open(wrapAAD, w.Sealed)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	return key, nil
}
