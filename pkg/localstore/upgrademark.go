package localstore

// upgradeMarks is what a store read of MetaUpgradeCompromisedKeys when it
// was opened, with its schema version (in the same query): every command
// opens the store and then asks whether an upgrade is pending (see
// service.Core.Upgrade), and on PostgreSQL a read transaction of its own
// for that was four more round trips.
//
// The answer read at open holds for the life of the store: the mark is
// only ever written by the schema migration that adds it (SQLite 14,
// PostgreSQL 12), which a store that found its schema up to date has
// already seen committed, and is deleted, never written again, once the
// upgrade is applied.
type upgradeMarks uint8

const (
	// marksUnknown: not read at open (the store migrated its schema
	// itself, or was opened read-only), so the mark is read when asked.
	marksUnknown upgradeMarks = iota
	marksNone
	marksPending
)

// UpgradeMayBePending reports whether st may hold an upgrade mark
// (MetaUpgradeCompromisedKeys): false when it read at open that it holds
// none, so that its caller need not read again.
func UpgradeMayBePending(st Store) bool {
	switch s := st.(type) {
	case *SQLite:
		return s.marks != marksNone
	case *Postgres:
		return s.marks != marksNone
	}
	return true
}

// marksFrom is the state of the marks from the count of them read.
func marksFrom(n int) upgradeMarks {
	if n > 0 {
		return marksPending
	}
	return marksNone
}
