// Package vaultops is the service behind `certctl vault`: what an operator
// does to a whole vault over the years — back it up while it works, restore
// it, verify it, rotate its master key, change its passphrase, and move it
// between SQLite and PostgreSQL.
//
// # Backups and the master key
//
// A backup is one portable file (a SQLite database with the vault's schema,
// whichever backend the vault uses; see pkg/localstore/backup.go) that
// carries the master key in the form the vault keeps it: wrapped by the
// passphrase when the vault has one, in clear otherwise. An operator
// expects `vault backup` to produce something that restores on its own on a
// new machine after the old one is lost; a backup that needs master.key
// copied separately is the backup that fails on the day it is needed. A
// passphrase-protected vault's backup is safe at rest without the
// passphrase; a plain-key vault's backup is exactly as secret as its vault
// directory, and backup says so (MasterKey "PLAIN") — protect it, or give
// the vault a passphrase first (`vault change-passphrase`).
//
// # Audit
//
// Changes are recorded in the vault's audit log: RestoreVault (in the
// restored vault, chained after the records it restored), RotateVaultKey
// (appended under the old key, then the whole chain is re-MACed under the
// new one, in the rotation's transaction), ChangeVaultPassphrase and
// MigrateVault (in the source, before the copy, so that the copy carries it
// and source and target hold the same log). Backup and verify are reads and
// are not recorded. A refusal on a rule (exit 3, 4 or 5) is recorded as a
// FAILURE of its change, also when it comes before the change's
// transaction (service.Core.Refused): a rotation beside a vault.db that
// holds data, a migration to the vault's own database. A restore refused
// into an empty vault has no log to be recorded in.
//
// # Key rotation
//
// RotateKey re-seals every sealed secret (certificate and CA keys, ACME
// EAB MAC keys, the shared store's check value) and re-MACs the audit
// chain in one exclusive transaction; the key file is switched through a
// pending file so that a kill at any instant leaves either the old or the
// new key opening everything (the argument is in pkg/localstore/rekey.go).
// A chain that does not verify under the old key is not re-keyed: that
// would hide the break.
package vaultops

import (
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// Settings are the configuration the service acts on.
type Settings struct {
	// HostName is this host's name for deploy targets (host.name, else
	// the system's), and SharedStore whether its store is one other hosts
	// share: there a restore warns only of the targets of a host of this
	// name under another identity (this host's, its directory rebuilt).
	HostName    string
	SharedStore bool
}

// Service is the vault operations service.
type Service struct {
	core *service.Core
	set  Settings
	// rotateProgress, when set (tests), is called during a rotation after
	// each batch of re-sealed secrets; an error fails the rotation there.
	rotateProgress func(done int) error
	// afterEmptyCheck, when set (tests), is called by a restore once it
	// found the vault empty, before it claims the store for its key.
	afterEmptyCheck func()
	// afterKeyInstall, when set (tests), is called by a restore once it
	// installed the backup's master key, before it copies the data.
	afterKeyInstall func()
	// afterRewrapInstall, when set (tests), is called by a passphrase
	// change once the new wrapped key file is written, in its
	// transaction; an error fails the transaction there (as a failed
	// commit would).
	afterRewrapInstall func() error
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}

// Master key forms as printed.
const (
	KeyWrapped = "WRAPPED"
	KeyPlain   = "PLAIN"
	KeyNone    = "NONE"
)

func keyForm(m localstore.KeyMaterial) string {
	switch m.Form {
	case localstore.KeyWrapped:
		return KeyWrapped
	case localstore.KeyPlain:
		return KeyPlain
	}
	return KeyNone
}

// Counts are the rows of a vault, by what they are.
type Counts struct {
	Certificates        int64 `json:"Certificates"`
	CertificateVersions int64 `json:"CertificateVersions"`
	SealedKeys          int64 `json:"SealedKeys"`
	Serials             int64 `json:"Serials"`
	Objects             int64 `json:"Objects"`
	Events              int64 `json:"Events"`
	AuditRecords        int64 `json:"AuditRecords"`
}

func counts(m map[string]int64) Counts {
	return Counts{
		Certificates:        m["certificates"],
		CertificateVersions: m["cert_versions"],
		SealedKeys:          m["secrets"],
		Serials:             m["serials"],
		Objects:             m["objects"],
		Events:              m["events"],
		AuditRecords:        m["audit"],
	}
}
