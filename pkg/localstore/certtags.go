package localstore

import (
	"encoding/json"
	"fmt"
	"time"
)

// A certificate is stored as three parts (schema: SQLite migration 7,
// PostgreSQL migration 5): its record (data, JSON) without its tags and
// UpdatedAt, its tags (tags, a JSON array) and its UpdatedAt (updated_at,
// Unix nanoseconds). Changing a certificate's tags (SetCertificateTags)
// then rewrites two small columns, never the record, and reading them
// (GetCertificateTags) decodes no record: a bulk `tags add` over a large
// vault is bound by its recorded changes, not by JSON.
//
// A record written before the migration has NULL tags and updated_at and
// keeps both in data; it is read as it was written, and its columns take
// over the first time it is written again.

// certRow is a certificate's stored parts, as read.
type certRow struct {
	data    []byte
	tags    []byte // nil: the tags are in data
	updated *int64 // nil: UpdatedAt is in data (or zero)
	// summary, when set, is the row's summary column: decode reads it
	// instead of data (then needed only when tags is nil).
	summary []byte
}

// encodeCertificate returns c's stored parts.
func encodeCertificate(c *Certificate) (data, tags []byte, err error) {
	rec := *c
	rec.Tags, rec.UpdatedAt = nil, time.Time{}
	if data, err = json.Marshal(&rec); err != nil {
		return nil, nil, err
	}
	if tags, err = encodeTags(c.Tags); err != nil {
		return nil, nil, err
	}
	return data, tags, nil
}

// encodeTags is the tags column of tags ("[]" for none: never NULL, which
// means "in the record").
func encodeTags(tags []Tag) ([]byte, error) {
	if len(tags) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(tags)
}

// decodeTags reads a tags column (none is nil, as a record's omitted tags
// decode).
func decodeTags(b []byte) ([]Tag, error) {
	var tags []Tag
	if err := json.Unmarshal(b, &tags); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// decode returns the certificate r holds.
func (r certRow) decode() (*Certificate, error) {
	if r.summary != nil {
		return r.decodeListed()
	}
	c := &Certificate{}
	if err := json.Unmarshal(r.data, c); err != nil {
		return nil, err
	}
	if r.tags != nil {
		tags, err := decodeTags(r.tags)
		if err != nil {
			return nil, err
		}
		c.Tags = tags
	}
	if r.updated != nil {
		c.UpdatedAt = time.Unix(0, *r.updated).UTC()
	}
	return c, nil
}

// rowTags returns the tags of a certificate from its tags column, or from
// its record (data) when the column is NULL (written before the
// migration), decoding only the record's tags.
func rowTags(id string, tags, data []byte) ([]Tag, error) {
	if tags != nil {
		t, err := decodeTags(tags)
		if err != nil {
			return nil, fmt.Errorf("%w: tags of certificate %s: %v", ErrCorrupt, id, err)
		}
		return t, nil
	}
	var rec struct {
		Tags []Tag `json:"tags"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%w: certificate %s: %v", ErrCorrupt, id, err)
	}
	if len(rec.Tags) == 0 {
		return nil, nil
	}
	return rec.Tags, nil
}
