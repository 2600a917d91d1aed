// Package storetest is the conformance suite of localstore.Store: every
// backend (the embedded SQLite store today, PostgreSQL later) must pass Run.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) localstore.Store { ... })
//	}
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// Opener returns a new, empty store for one test and arranges (with
// t.Cleanup) for it to be closed. Run calls it once per subtest, from
// parallel subtests, so the stores it returns must be independent.
type Opener func(t *testing.T) localstore.Store

// Run runs the conformance suite against the stores returned by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s localstore.Store)
	}{
		{"CertificateRoundTrip", testCertificateRoundTrip},
		{"CertificateUpdate", testCertificateUpdate},
		{"CertificateDelete", testCertificateDelete},
		{"CertificateTags", testCertificateTags},
		{"NotFound", testNotFound},
		{"FindCertificateIDs", testFindCertificateIDs},
		{"ListFilters", testListFilters},
		{"ListSort", testListSort},
		{"ListPaging", testListPaging},
		{"ListSummaries", testListSummaries},
		{"ScanSummaries", testScanSummaries},
		{"ListLongSummary", testListLongSummary},
		{"Versions", testVersions},
		{"Secrets", testSecrets},
		{"Serials", testSerials},
		{"SerialConflictKeepsTxUsable", testSerialConflictKeepsTx},
		{"IssuedCertificates", testIssued},
		{"Revocations", testRevocations},
		{"RevocationEpoch", testRevocationEpoch},
		{"Objects", testObjects},
		{"FindObjectIDs", testFindObjectIDs},
		{"Meta", testMeta},
		{"AuditLog", testAuditLog},
		{"AuditConcurrentAppend", testAuditConcurrentAppend},
		{"UpdateRollsBackOnError", testRollbackOnError},
		{"UpdateRollsBackOnPanic", testRollbackOnPanic},
		{"UpdateCancelledBeforeCommit", testCancelledBeforeCommit},
		{"ViewCannotWrite", testViewCannotWrite},
		{"ViewSeesCommitted", testViewSeesCommitted},
		{"Check", testCheck},
		{"Nonces", testNonces},
		{"NoncesConcurrent", testNoncesConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
	for _, tc := range bulkTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t), open)
		})
	}
}

// ctx returns a context that ends with the test, bounded so that a leaked
// write lock shows as a failure instead of a hung test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// update runs fn in a write transaction and fails the test on error. fn
// reports problems by returning errors: calling t.Fatal inside a transaction
// would leave it open.
func update(t *testing.T, s localstore.Store, fn func(localstore.Tx) error) {
	t.Helper()
	if err := s.Update(ctx(t), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a read transaction and fails the test on error.
func view(t *testing.T, s localstore.Store, fn func(localstore.Tx) error) {
	t.Helper()
	if err := s.View(ctx(t), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// putCerts stores certificates in one transaction.
func putCerts(t *testing.T, s localstore.Store, cs ...*localstore.Certificate) {
	t.Helper()
	update(t, s, func(tx localstore.Tx) error {
		for _, c := range cs {
			if err := tx.PutCertificate(c); err != nil {
				return err
			}
		}
		return nil
	})
}

// getCert reads one certificate; err is the store's error.
func getCert(t *testing.T, s localstore.Store, id string) (c *localstore.Certificate, err error) {
	t.Helper()
	view(t, s, func(tx localstore.Tx) error {
		c, err = tx.GetCertificate(id)
		return nil
	})
	return c, err
}

// wantNotFound fails unless err is localstore.ErrNotFound (errors.Is).
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, localstore.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

// t0 is the base time of the fixtures: UTC, whole microseconds, so that
// every backend can store it exactly.
var t0 = time.Date(2031, 3, 14, 15, 9, 26, 535897000, time.UTC)
