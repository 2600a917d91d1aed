package validation

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

func putCode(tx localstore.Tx, id string, rec *codeRecord, now time.Time) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.PutObject(&localstore.Object{Kind: codeKind, ID: id, Data: data, UpdatedAt: now})
}

func getCode(tx localstore.Tx, id string) (*codeRecord, error) {
	o, err := tx.GetObject(codeKind, id)
	if err != nil {
		return nil, err
	}
	var rec codeRecord
	if err := json.Unmarshal(o.Data, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

func supersedeCode(tx localstore.Tx, id string) error {
	rec, err := getCode(tx, id)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rec.Superseded = true
	o, err := tx.GetObject(codeKind, id)
	if err != nil {
		return err
	}
	return putCode(tx, id, rec, o.UpdatedAt)
}
