// Package localstore is the vault: where certctl keeps certificates, their
// versions, sealed private keys and every other resource. Store is the narrow
// interface every backend implements (SQLite and PostgreSQL) and
// that the conformance suite in storetest checks.
package localstore

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique constraint would be broken.
var ErrConflict = errors.New("conflict")

// Store opens transactions. Update runs fn in a write transaction that is
// committed when fn returns nil and rolled back otherwise; View runs fn in a
// read transaction. A backend may run fn again after a serialization
// conflict (PostgreSQL does), so fn must be safe to re-run: no effect outside
// tx that cannot be repeated, and results assigned, not appended.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	// Check verifies the integrity of the underlying storage.
	Check(ctx context.Context) error
	Close() error
}

// Tx is what a transaction can do.
type Tx interface {
	GetCertificate(id string) (*Certificate, error)
	PutCertificate(c *Certificate) error
	// GetCertificateTags returns the tags of a certificate without
	// decoding the rest of its record; ErrNotFound when there is none.
	GetCertificateTags(id string) ([]Tag, error)
	// ListCertificateTags returns the tags of the certificates of ids that
	// exist (an ID that names none is absent from the map), as
	// GetCertificateTags does, in one query.
	ListCertificateTags(ids []string) (map[string][]Tag, error)
	// SetCertificateTags replaces the tags of a certificate and sets its
	// UpdatedAt, without rewriting the rest of its record; ErrNotFound
	// when there is none.
	SetCertificateTags(id string, tags []Tag, updatedAt time.Time) error
	DeleteCertificate(id string) error
	// FindCertificateIDs returns the IDs starting with prefix (at most limit).
	FindCertificateIDs(prefix string, limit int) ([]string, error)
	// EachCertificateTags calls fn with the tags of every certificate
	// (none: nil), reading only their tags; fn's error stops it.
	EachCertificateTags(fn func(id string, tags []Tag) error) error
	ListCertificates(f CertificateFilter) ([]*Certificate, error)
	// ListCertificateSummaries is ListCertificates for lists that show no
	// more than the SummaryFields, Tags and UpdatedAt of each certificate:
	// only those are set, except in rows written before the summary
	// column (SQLite migration 9), whose record is decoded whole.
	ListCertificateSummaries(f CertificateFilter) ([]*Certificate, error)
	// ScanCertificateSummaries is ListCertificateSummaries a block at a
	// time, for lists too long to hold every certificate at once: fn gets
	// the next certificates in order, a few hundred at most. The
	// Certificate values are reused once fn returns, so fn copies those it
	// keeps; with reuse, what they point to (their strings and lists) is
	// reused too, for a caller that keeps nothing of a block (a list
	// printed as it is read), so that a long list touches no new memory
	// from block to block. An error of fn ends the scan and is returned.
	// fn must not use the transaction: PostgreSQL's connection is busy
	// with the scan until it ends.
	ScanCertificateSummaries(f CertificateFilter, reuse bool, fn func([]*Certificate) error) error
	CountCertificates() (int, error)

	PutVersion(certID string, v *CertificateVersion) error
	GetVersion(certID string, number int) (*CertificateVersion, error)
	ListVersions(certID string) ([]*CertificateVersion, error)

	PutSecret(ref string, sealed []byte) error
	GetSecret(ref string) ([]byte, error)
	// DeleteSecret removes a sealed secret (none is not an error).
	DeleteSecret(ref string) error

	// ReserveSerial records that issuer issued serial; ErrConflict when it
	// already did.
	ReserveSerial(issuer, serial, certID string, at time.Time) error
	// GetSerial returns what the store knows of an issued serial.
	GetSerial(issuer, serial string) (*Serial, error)
	// SerialRevocation returns when and why serial of issuer was revoked
	// (a zero time: not revoked), without the rest of its record:
	// ErrNotFound for a serial never reserved. Every signature asks it of
	// the certificates of the signing CA's chain.
	SerialRevocation(issuer, serial string) (revokedAt time.Time, reason int, err error)
	// RevokeSerial marks an issued serial revoked; ErrNotFound when the
	// issuer never issued it.
	RevokeSerial(issuer, serial string, at time.Time, reason int) error
	// ListRevoked returns the revoked serials of an issuer, in no order.
	ListRevoked(issuer string) ([]Serial, error)
	// EachRevocation calls fn with the serial, revocation time and reason
	// of every serial issuer revoked, in serial order (what a CRL lists),
	// without reading the rest of their records; fn's error stops it.
	EachRevocation(issuer string, fn RevocationFunc) error
	// RecordIssued stores the certificate signed with a reserved serial
	// (s.Issuer, s.Serial): its DER, subject, validity, template and
	// requester; ErrNotFound when the serial was not reserved.
	RecordIssued(s *Serial) error
	// ListIssued returns every serial issuer issued, oldest first, without
	// the certificates' DER.
	ListIssued(issuer string) ([]Serial, error)

	// AppendEvent adds an event to the log and returns its sequence number.
	AppendEvent(at time.Time, data []byte) (int64, error)
	// ListEvents returns events with seq > afterSeq and time >= since, in
	// order, at most limit (0: all).
	ListEvents(afterSeq int64, since time.Time, limit int) ([]EventRow, error)

	// AppendAudit adds r to the audit log. r.Seq must be one more than the
	// last record's (1 for the first); ErrConflict when it is taken.
	AppendAudit(r AuditRow) error
	// LastAudit returns the newest audit record; ErrNotFound when the log
	// is empty.
	LastAudit() (*AuditRow, error)
	// ListAudit returns audit records with seq > afterSeq, in order, at
	// most limit (0: all).
	ListAudit(afterSeq int64, limit int) ([]AuditRow, error)

	PutObject(o *Object) error
	GetObject(kind, id string) (*Object, error)
	DeleteObject(kind, id string) error
	ListObjects(kind string) ([]*Object, error)
	FindObjectIDs(kind, prefix string, limit int) ([]string, error)
	// FindObjects is FindObjectIDs returning the objects (one query
	// instead of one and one a match).
	FindObjects(kind, prefix string, limit int) ([]*Object, error)

	GetMeta(key string) ([]byte, error)
	PutMeta(key string, value []byte) error

	// RedeemNonce records that the ACME nonce was used: true the first
	// time, false when it already was (by any process on the store).
	// expires is when the row may be swept.
	RedeemNonce(nonce string, expires time.Time) (bool, error)
	// SweepNonces deletes redeemed nonces that expired before before.
	SweepNonces(before time.Time) (int64, error)
}
