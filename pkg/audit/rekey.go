package audit

import (
	"encoding/json"
	"errors"

	"github.com/certctl/certctl/pkg/localstore"
)

// rekeyBatch is how many records Rekey rewrites at a time.
const rekeyBatch = 2000

// Rekey re-MACs the whole chain and its head under newKey, in tx: the
// chain's key derives from the vault's master key, so a master key
// rotation (vault rotate-key) calls it in the rotation's transaction. The
// chain must first verify under oldKey — re-keying a broken chain would
// hide what broke it — so a break is returned as the *Problem. Records keep
// their sequence, time and content; only their MACs change. It returns how
// many records it re-keyed.
func Rekey(tx localstore.BulkTx, oldKey, newKey []byte) (int64, error) {
	if len(oldKey) == 0 || len(newKey) == 0 {
		return 0, errors.New("audit: no chain key")
	}
	n, problem, err := Verify(tx, oldKey)
	if err != nil {
		return 0, err
	}
	if problem != nil {
		return 0, problem
	}
	if n == 0 {
		return 0, nil
	}
	var prev []byte
	var after, clock, restore int64
	for {
		rows, err := tx.ListAudit(after, rekeyBatch)
		if err != nil {
			return 0, err
		}
		for i := range rows {
			rows[i].MAC = mac(newKey, prev, rows[i].Seq, rows[i].Time, rows[i].Data)
			clock = max(clock, rows[i].Time.UnixNano())
			if r, err := Decode(rows[i]); err == nil && isRestore(r) {
				restore = rows[i].Seq
			}
			prev = rows[i].MAC
			after = rows[i].Seq
		}
		if err := tx.SetAuditMACs(rows); err != nil {
			return 0, err
		}
		if len(rows) < rekeyBatch {
			break
		}
	}
	// The whole chain was read: its head gets its clock (see head), also
	// when the head before had none.
	hd, err := json.Marshal(newHead(newKey, after, prev, clock, restore))
	if err != nil {
		return 0, err
	}
	return n, tx.PutMeta(headKey, hd)
}
