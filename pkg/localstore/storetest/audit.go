package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

func auditRow(seq int64) localstore.AuditRow {
	return localstore.AuditRow{Seq: seq, Time: t0.Add(time.Duration(seq) * time.Second).Add(123),
		Data: []byte(fmt.Sprintf(`{"EventName":"E%d"}`, seq)), MAC: bytes.Repeat([]byte{byte(seq)}, 32)}
}

func sameAuditRow(t *testing.T, what string, got *localstore.AuditRow, want localstore.AuditRow) {
	t.Helper()
	if got == nil || got.Seq != want.Seq || !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC ||
		!bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.MAC, want.MAC) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// testAuditLog: appended records come back exactly and in order from
// LastAudit and ListAudit (with afterSeq and limit); an empty log has no
// last record; a taken seq is ErrConflict and leaves the transaction usable.
func testAuditLog(t *testing.T, s localstore.Store) {
	view(t, s, func(tx localstore.Tx) error {
		_, err := tx.LastAudit()
		wantNotFound(t, "LastAudit of an empty log", err)
		rows, err := tx.ListAudit(0, 0)
		if err != nil || len(rows) != 0 {
			t.Errorf("ListAudit of an empty log = %v, %v", rows, err)
		}
		return nil
	})
	update(t, s, func(tx localstore.Tx) error {
		for seq := int64(1); seq <= 3; seq++ {
			if err := tx.AppendAudit(auditRow(seq)); err != nil {
				return err
			}
		}
		// The transaction sees its own records.
		last, err := tx.LastAudit()
		if err != nil {
			return err
		}
		sameAuditRow(t, "LastAudit inside the appending transaction", last, auditRow(3))
		return nil
	})
	update(t, s, func(tx localstore.Tx) error {
		err := tx.AppendAudit(auditRow(2))
		if !errors.Is(err, localstore.ErrConflict) {
			t.Errorf("AppendAudit of a taken seq: err = %v, want ErrConflict", err)
		}
		for seq := int64(4); seq <= 7; seq++ {
			if err := tx.AppendAudit(auditRow(seq)); err != nil {
				return fmt.Errorf("after a conflict: %w", err)
			}
		}
		return nil
	})
	view(t, s, func(tx localstore.Tx) error {
		last, err := tx.LastAudit()
		if err != nil {
			return err
		}
		sameAuditRow(t, "LastAudit", last, auditRow(7))
		all, err := tx.ListAudit(0, 0)
		if err != nil {
			return err
		}
		if len(all) != 7 {
			t.Fatalf("ListAudit(0, 0) returned %d records, want 7", len(all))
		}
		for i := range all {
			sameAuditRow(t, fmt.Sprintf("ListAudit record %d", i), &all[i], auditRow(int64(i+1)))
		}
		page, err := tx.ListAudit(2, 3)
		if err != nil {
			return err
		}
		if len(page) != 3 || page[0].Seq != 3 || page[2].Seq != 5 {
			t.Errorf("ListAudit(2, 3) = seqs %v, want 3 4 5", seqs(page))
		}
		if rest, err := tx.ListAudit(5, 10); err != nil || len(rest) != 2 || rest[1].Seq != 7 {
			t.Errorf("ListAudit(5, 10) = seqs %v, %v; want 6 7", seqs(rest), err)
		}
		if none, err := tx.ListAudit(7, 0); err != nil || len(none) != 0 {
			t.Errorf("ListAudit(7, 0) = seqs %v, %v; want none", seqs(none), err)
		}
		if from, err := tx.ListAudit(-1<<63, 1); err != nil || len(from) != 1 || from[0].Seq != 1 {
			t.Errorf("ListAudit(MinInt64, 1) = seqs %v, %v; want 1", seqs(from), err)
		}
		return nil
	})
	// A rolled-back append leaves no record.
	err := s.Update(ctx(t), func(tx localstore.Tx) error {
		if err := tx.AppendAudit(auditRow(8)); err != nil {
			return err
		}
		return errSentinel
	})
	if !errors.Is(err, errSentinel) {
		t.Fatalf("Update returned %v", err)
	}
	view(t, s, func(tx localstore.Tx) error {
		last, err := tx.LastAudit()
		if err != nil {
			return err
		}
		if last.Seq != 7 {
			t.Errorf("after a rolled-back append LastAudit is %d, want 7", last.Seq)
		}
		return nil
	})
}

func seqs(rows []localstore.AuditRow) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.Seq
	}
	return out
}

// testAuditConcurrentAppend runs writers that each read the newest record
// and append the next one, as audit.Append does, at the same time: each
// first attempt waits (briefly) until every writer has read the head, so
// that on a store whose writers run in parallel they all read the same
// one. Every writer must commit, and the log must hold consecutive seqs,
// one record per writer, each chained to the record before it.
func testAuditConcurrentAppend(t *testing.T, s localstore.Store) {
	const writers = 4
	update(t, s, func(tx localstore.Tx) error { return tx.AppendAudit(auditRow(1)) })
	var read sync.WaitGroup
	read.Add(writers)
	allRead := make(chan struct{})
	go func() { read.Wait(); close(allRead) }()
	var wg sync.WaitGroup
	errs := make([]error, writers)
	attempts := make([]int, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = s.Update(ctx(t), func(tx localstore.Tx) error {
				attempts[w]++
				last, err := tx.LastAudit()
				if err != nil {
					return err
				}
				if attempts[w] == 1 {
					read.Done()
					// A store that runs one writer at a time (SQLite)
					// never lets the others read: do not wait long.
					select {
					case <-allRead:
					case <-time.After(300 * time.Millisecond):
					}
				}
				row := localstore.AuditRow{Seq: last.Seq + 1, Time: t0, Data: []byte(fmt.Sprintf(`{"writer":%d}`, w)),
					MAC: append(append([]byte{}, last.MAC...), byte(w))}
				if err := tx.AppendAudit(row); err != nil {
					return err
				}
				return tx.PutMeta("audit.head", []byte(fmt.Sprint(row.Seq)))
			})
		}()
	}
	wg.Wait()
	t.Logf("attempts per writer: %v", attempts)
	for w, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v (after %d attempts)", w, err, attempts[w])
		}
	}
	view(t, s, func(tx localstore.Tx) error {
		rows, err := tx.ListAudit(0, 0)
		if err != nil {
			return err
		}
		if len(rows) != writers+1 {
			t.Fatalf("the log holds seqs %v, want 1..%d", seqs(rows), writers+1)
		}
		seen := map[string]bool{}
		for i, r := range rows {
			if r.Seq != int64(i+1) {
				t.Errorf("record %d has seq %d: seqs %v are not consecutive", i, r.Seq, seqs(rows))
			}
			if i > 0 {
				if prev := rows[i-1].MAC; !bytes.Equal(r.MAC[:len(r.MAC)-1], prev) {
					t.Errorf("record %d is not chained to record %d", r.Seq, rows[i-1].Seq)
				}
				if seen[string(r.Data)] {
					t.Errorf("record %d repeats %s", r.Seq, r.Data)
				}
				seen[string(r.Data)] = true
			}
		}
		head, err := tx.GetMeta("audit.head")
		if err != nil || string(head) != fmt.Sprint(writers+1) {
			t.Errorf("head = %s, %v; want %d", head, err, writers+1)
		}
		return nil
	})
}
