package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/certctl/certctl/pkg/localstore"
)

// WitnessPrefix begins the name of the files in each vault directory where
// a host keeps the newest chain head it appended, one file per store (a
// vault directory may be pointed at another store: each has its own chain).
const WitnessPrefix = "audit.witness-"

// Witness is a host's own copy of the chain head, kept outside the store.
// The head in the store's meta table catches a record dropped from the end
// — unless someone who can write the database puts back a head saved
// earlier, together with the rows it covered. The witness closes that: it
// lives beside the master key on each host that writes, so a log that ends
// before a head some host wrote, or that holds another record at that
// place, no longer verifies. It is written after commit, without fsync: a
// witness behind the store is normal (a crash, another host's appends);
// only a store behind or unlike the witness is a problem.
type Witness struct{ Path string }

// WitnessIn is the witness, in the vault directory dir, of the store named
// by storeID (localstore.Vault.StoreIdentity).
func WitnessIn(dir, storeID string) Witness {
	sum := sha256.Sum256([]byte(storeID))
	return Witness{Path: filepath.Join(dir, WitnessPrefix+hex.EncodeToString(sum[:8]))}
}

func (w Witness) read() (*head, error) {
	data, err := os.ReadFile(w.Path)
	if err != nil {
		return nil, err
	}
	var h head
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// Note records r (appended and committed) as the newest head this host
// wrote, unless the witness already holds a newer one. Errors are
// returned for the caller to ignore or report: the change itself is done.
func (w Witness) Note(key []byte, r *Record) error {
	if w.Path == "" || r == nil || r.Seq == 0 || r.chainMAC == nil {
		return nil
	}
	if h, err := w.read(); err == nil && h.Seq >= r.Seq && hmac.Equal(h.Tag, headTag(key, h.Seq, h.MAC)) {
		return nil
	}
	return w.Set(key, r.Seq, r.chainMAC)
}

// Set writes the witness (temp file and rename, mode 0600).
func (w Witness) Set(key []byte, seq int64, m []byte) error {
	data, _ := json.Marshal(head{Seq: seq, MAC: m, Tag: headTag(key, seq, m)})
	tmp, err := os.CreateTemp(filepath.Dir(w.Path), ".audit-witness-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), w.Path)
	}
	if err != nil {
		// Only a file that did not take the witness's place is removed: after
		// a rename there is nothing left to remove (this is on every commit's
		// path, so no failing unlink there).
		os.Remove(tmp.Name())
	}
	return err
}

// Check compares the store's chain with the witness: nil when the chain
// holds the witnessed record at its place (or there is no witness).
func (w Witness) Check(tx localstore.Tx, key []byte) (*Problem, error) {
	h, err := w.read()
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil || !hmac.Equal(h.Tag, headTag(key, h.Seq, h.MAC)) {
		// Written under another master key (the key was rotated since) or
		// damaged: it proves nothing either way, and the next change of
		// this host writes it anew. Only this host can write the file, so
		// someone with database access alone cannot make it so.
		return nil, nil
	}
	rows, err := tx.ListAudit(h.Seq-1, 1)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || rows[0].Seq != h.Seq {
		return &Problem{Seq: h.Seq, Msg: fmt.Sprintf("removed: this host appended record %d, which the log no longer holds", h.Seq)}, nil
	}
	if !hmac.Equal(rows[0].MAC, h.MAC) {
		return &Problem{Seq: h.Seq, Msg: "replaced: the log holds another record where this host appended one"}, nil
	}
	return nil, nil
}
