package localstore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/crypto/scrypt"

	"github.com/certctl/certctl/pkg/fsutil"
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

// Bounds of the KDF parameters read from a wrapped key (a file of the vault
// directory, or the copy a shared store publishes): whoever can write them
// must not be able to make every certctl process that unwraps the key
// allocate gigabytes or compute for minutes. scrypt allocates 128·N·r bytes
// and does work proportional to N·r·p; the bounds are four times the
// default's memory and eight times its work.
const (
	maxScryptMemory = 4 * 128 * (1 << 17) * 8 // bytes: 512 MiB
	maxScryptWork   = 8 * (1 << 17) * 8 * 1   // N·r·p
)

// check refuses parameters outside the bounds, before anything is
// allocated.
func (p ScryptParams) check() error {
	switch {
	case p.N < 2 || p.N&(p.N-1) != 0:
		return fmt.Errorf("scrypt N=%d is not a power of two above 1", p.N)
	case p.R < 1 || p.R > 64 || p.P < 1 || p.P > 16:
		return fmt.Errorf("scrypt r=%d p=%d out of range (r 1-64, p 1-16)", p.R, p.P)
	case int64(p.N) > maxScryptMemory/128/int64(p.R):
		return fmt.Errorf("scrypt N=%d r=%d needs more than %d MiB", p.N, p.R, maxScryptMemory>>20)
	case int64(p.N)*int64(p.R)*int64(p.P) > maxScryptWork:
		return fmt.Errorf("scrypt N=%d r=%d p=%d is more than %d times the default work", p.N, p.R, p.P, maxScryptWork/(1<<20))
	}
	return nil
}

// wrappedKey is the JSON content of master.key.enc.
type wrappedKey struct {
	KDF    string       `json:"kdf"`
	Params ScryptParams `json:"params"`
	Salt   []byte       `json:"salt"`
	Nonce  []byte       `json:"nonce"`
	Sealed []byte       `json:"sealed"`
	// ID is the wrapped key's identifier (KeyID), so that the key a file
	// holds is known without the passphrase; absent in files written
	// before key rotation existed.
	ID string `json:"id,omitempty"`
	// Gen is the copy's generation and Tag proves it under the key
	// (see wrapgen.go); both absent in files written before
	// generations existed.
	Gen uint64 `json:"gen,omitempty"`
	Tag []byte `json:"tag,omitempty"`
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
	// id identifies the master key (KeyID); key is the master key itself,
	// kept to wrap it again (vault change-passphrase) or replace it.
	id  string
	key []byte
	// record is set when the store records no key ID yet and this key
	// is known to be its key: the write guard records it (recordsKey).
	record bool
}

// auditKeyInfo is the HKDF info of the audit chain's key.
const auditKeyInfo = "certctl audit chain v1"

// AuditKey is the key of the audit log's HMAC chain.
func (s *Sealer) AuditKey() []byte { return s.auditKey }

// nonceKeyInfo is the HKDF info of the ACME nonce key.
const nonceKeyInfo = "certctl acme nonce v1"

// NonceKey is the key derived for ACME nonces: the value the store's
// nonce key takes when it is first stored (acmestate.NonceKey), which
// servers of the release before that derived themselves.
func (s *Sealer) NonceKey() ([]byte, error) {
	// Derived when asked, not with every key loaded: a store asks once.
	return hkdf.Key(sha256.New, s.key, nil, nonceKeyInfo, 32)
}

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
	id, err := KeyID(key)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, auditKey: auditKey, id: id, key: bytes.Clone(key)}, nil
}

// keyIDInfo is the HKDF info of a master key's identifier.
const keyIDInfo = "certctl master key id v1"

// KeyID identifies a master key: 16 bytes derived from it (HKDF-SHA256), in
// hex. It names the key generation a store was sealed under (meta
// MetaMasterKeyID) and the key file a rotation writes; it reveals nothing
// of the key.
func KeyID(key []byte) (string, error) {
	id, err := hkdf.Key(sha256.New, key, nil, keyIDInfo, 16)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(id), nil
}

// ID is the identifier of the sealer's master key (KeyID).
func (s *Sealer) ID() string { return s.id }

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
// use (when create is set): in clear in a 0600 file, or wrapped by
// passphrase when one is given.
func loadOrCreateMasterKey(dir string, passphrase []byte, params ScryptParams, create bool) ([]byte, error) {
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
				return nil, keyErrorf(nil, "%s in %s has %d bytes, want 32: the vault's master key file is damaged; %s", MasterKeyFile, dir, len(data), keyRecovery)
			}
			return data, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if !create {
			return nil, keyErrorf(errKeyMissing, "%v from %s (neither %s nor %s); %s%s", errKeyMissing, dir, MasterKeyFile, WrappedMasterFile, keyRecovery, migratedNote)
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

// errKeyMissing is the error of a vault directory that holds no key file.
var errKeyMissing = errors.New("the vault's master key is missing")

// migratedNote is said of a vault directory without its key: a database
// that vault migrate --to sqlite:PATH wrote is used with its source
// vault's key (tester: after a migration the hint said restore).
const migratedNote = " (a database that vault migrate --to sqlite:PATH wrote is used from the vault directory it was migrated from, with --store sqlite:PATH)"

// keyRecovery says how to recover a vault directory whose master key file
// is missing or damaged (tester: "restore it from a backup", which vault
// restore refuses into a vault that is not empty).
const keyRecovery = "put it back from a copy of this vault directory, or restore a backup taken since the last vault rotate-key into a new directory (certctl vault restore --from-file BACKUP --vault NEWDIR) and copy the master key file from there"

// createExclusive writes content to path only if path does not exist, so that
// two processes creating a vault at once agree on one key. It reports whether
// this call created the file.
func createExclusive(path string, content []byte) (bool, error) {
	tmp, err := fsutil.CreateTemp(filepath.Dir(path), ".tmp-key-*")
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

// ErrEmptyPassphrase refuses to wrap a master key under an empty
// passphrase: a vault made so looks protected and is not (an empty file, or
// <(echo "$UNSET"), given as --vault-passphrase-file on first use).
var ErrEmptyPassphrase = errors.New("the vault passphrase is empty")

// ErrPassphraseLines refuses to wrap a new master key under a passphrase
// read from a file of several lines (see Options.LegacyPassphrase): a
// passphrase set is one line, as vault change-passphrase requires.
var ErrPassphraseLines = errors.New("the vault passphrase file holds more than one line")

// wrapKey wraps key under passphrase, as a copy of generation 1.
func wrapKey(key, passphrase []byte, p ScryptParams) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	if err := p.check(); err != nil {
		return nil, err
	}
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
	id, err := KeyID(key)
	if err != nil {
		return nil, err
	}
	macKey, err := wrapMACKey(key)
	if err != nil {
		return nil, err
	}
	defer clear(macKey)
	// The first generation: a change that replaces this copy stamps it
	// again with the next one (stampWrap).
	w := wrappedKey{KDF: "scrypt", Params: p, Salt: salt, Sealed: sealed, ID: id, Gen: 1}
	w.Tag = wrapTag(macKey, &w)
	return json.Marshal(w)
}

func unwrapKey(data, passphrase []byte) ([]byte, error) {
	var w wrappedKey
	if err := json.Unmarshal(data, &w); err != nil || w.KDF != "scrypt" {
		return nil, keyErrorf(nil, "%s is unreadable: the vault's master key file is damaged; %s", WrappedMasterFile, keyRecovery)
	}
	if err := w.Params.check(); err != nil {
		return nil, keyErrorf(nil, "%s: %v: the vault's master key file is damaged; %s", WrappedMasterFile, err, keyRecovery)
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
