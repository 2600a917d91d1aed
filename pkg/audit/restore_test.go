package audit

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// sharedStore is one store two hosts (vault directories, each with its
// own witness) append to, as service.Core.write does, with the statements
// a database administrator can run on it (exec).
type sharedStore struct {
	t      *testing.T
	st     localstore.Store
	key    []byte
	exec   func(string) error
	now    time.Time
	hostA  Witness
	hostB  Witness
	copies map[string]storeCopy
}

// storeCopy is the audit log and head of the store at one moment: a
// backup, or a copy of the database files.
type storeCopy struct {
	rows []localstore.AuditRow
	head []byte
}

// onBothStores runs fn on an SQLite file and on a PostgreSQL schema (when
// CERTCTL_TEST_POSTGRES_URL is set).
func onBothStores(t *testing.T, fn func(s *sharedStore)) {
	_, _, _, at := witnessVault(t)
	onEachStore(t, func(t *testing.T, st localstore.Store, key []byte, exec func(string) error) {
		fn(&sharedStore{t: t, st: st, key: key, exec: exec, now: at,
			hostA:  WitnessIn(t.TempDir(), "the store"),
			hostB:  WitnessIn(t.TempDir(), "the store"),
			copies: map[string]storeCopy{}})
	})
}

// tick is the time of the next record of a host whose clock is off by
// skew.
func (s *sharedStore) tick(skew time.Duration) time.Time {
	s.now = s.now.Add(time.Minute)
	return s.now.Add(skew)
}

// append appends one record named event as host w does, at the host's
// time at; it returns what was appended after the log's end before it.
func (s *sharedStore) append(w Witness, event string, at time.Time) ([]*Record, error) {
	seen := w.Held()
	r := &Record{EventName: event, Actor: Actor{Type: ActorUser, ID: "u", Host: w.Path}, Outcome: OutcomeSuccess}
	var before int64
	err := s.st.Update(context.Background(), func(tx localstore.Tx) error {
		if last, err := tx.LastAudit(); err == nil {
			before = last.Seq
		}
		tail := &Tail{Witnessed: seen}
		if err := AppendAfter(tx, s.key, r, at, tail); err != nil {
			return err
		}
		return tail.Flush(tx, s.key)
	})
	if err != nil {
		return nil, err
	}
	if err := w.Note(s.key, r); err != nil {
		return nil, err
	}
	var out []*Record
	if err := s.st.View(context.Background(), func(tx localstore.Tx) (err error) {
		out, err = List(tx, Filter{}, before, 0)
		return err
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *sharedStore) mustAppend(w Witness, skew time.Duration) {
	s.t.Helper()
	if _, err := s.append(w, "AddTagsToCertificate", s.tick(skew)); err != nil {
		s.t.Fatal(err)
	}
}

// save keeps the store's log and head as name.
func (s *sharedStore) save(name string) {
	s.t.Helper()
	var c storeCopy
	if err := s.st.View(context.Background(), func(tx localstore.Tx) (err error) {
		if c.rows, err = tx.ListAudit(0, 1<<20); err != nil {
			return err
		}
		c.head, err = tx.GetMeta(headKey)
		return err
	}); err != nil {
		s.t.Fatal(err)
	}
	s.copies[name] = c
}

// putBack replaces the store's log and head by the copy name, as copying
// database files back does, and runs more in the same transaction.
func (s *sharedStore) putBack(name string, more func(tx localstore.Tx) error) {
	s.t.Helper()
	c := s.copies[name]
	for _, q := range []string{`DELETE FROM audit`, `DELETE FROM meta WHERE key = 'audit.head'`} {
		if err := s.exec(q); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := s.st.Update(context.Background(), func(tx localstore.Tx) error {
		for _, r := range c.rows {
			if err := tx.AppendAudit(r); err != nil {
				return err
			}
		}
		if err := tx.PutMeta(headKey, c.head); err != nil {
			return err
		}
		if more != nil {
			return more(tx)
		}
		return nil
	}); err != nil {
		s.t.Fatal(err)
	}
}

// restore is vault restore of the backup name by host w, whose clock is
// off by skew, into the emptied store: the backup's rows, then the
// restore's record, appended with w's witness reset (vaultops.Restore).
func (s *sharedStore) restore(w Witness, name string, skew time.Duration) {
	s.t.Helper()
	if err := w.Reset(); err != nil {
		s.t.Fatal(err)
	}
	r := &Record{EventName: RestoreEvent, Actor: Actor{Type: ActorUser, ID: "u", Host: w.Path}, Outcome: OutcomeSuccess}
	at := s.tick(skew)
	s.putBack(name, func(tx localstore.Tx) error {
		tail := &Tail{Witnessed: w.Held()}
		if err := AppendAfter(tx, s.key, r, at, tail); err != nil {
			return err
		}
		return tail.Flush(tx, s.key)
	})
	if err := w.Note(s.key, r); err != nil {
		s.t.Fatal(err)
	}
}

// verify fails the test unless the chain verifies and host w's witness
// has no problem with it.
func (s *sharedStore) verify(w Witness) {
	s.t.Helper()
	if p := s.check(w); p != nil {
		s.t.Fatalf("witness %s: %v", w.Path, p)
	}
}

func (s *sharedStore) check(w Witness) *Problem {
	s.t.Helper()
	seen := w.Seen()
	var p *Problem
	if err := s.st.View(context.Background(), func(tx localstore.Tx) (err error) {
		if _, p, err = Verify(tx, s.key); err != nil || p != nil {
			return err
		}
		p, err = w.Check(tx, s.key, seen)
		return err
	}); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// mustRefuse fails the test unless host w's append is refused as a log
// rolled back behind its witness, and leaves the log as it was.
func (s *sharedStore) mustRefuse(w Witness, what string) {
	s.t.Helper()
	var before, after int64
	end := func() int64 {
		var n int64
		_ = s.st.View(context.Background(), func(tx localstore.Tx) error {
			if last, err := tx.LastAudit(); err == nil {
				n = last.Seq
			}
			return nil
		})
		return n
	}
	before = end()
	_, err := s.append(w, "AddTagsToCertificate", s.tick(0))
	if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), "rolled back or cut") {
		s.t.Fatalf("%s: host's append: %v, want it refused as rolled back", what, err)
	}
	if after = end(); after != before {
		s.t.Fatalf("%s: the log went from record %d to %d", what, before, after)
	}
	if p := s.check(w); p == nil {
		s.t.Fatalf("%s: the host's witness has no problem with the log", what)
	}
}

// TestRestoreSeenByOtherHosts: host B of a shared store wrote; host A
// restores into the emptied store a backup taken before B's record. B's
// next change is appended, with no one removing B's witness: the log
// records that B accepted the restore (before B's change), verifies, and
// B's witness names the new log, so B's following changes need nothing
// more. Without telling a restore from a rollback, B refused every change.
func TestRestoreSeenByOtherHosts(t *testing.T) {
	onBothStores(t, func(s *sharedStore) {
		s.mustAppend(s.hostA, 0)
		s.save("backup")
		s.mustAppend(s.hostB, 0) // record 2: B's witness
		s.mustAppend(s.hostA, 0)
		s.restore(s.hostA, "backup", 0) // records 1 and 2 (the restore's)
		// Before B writes, its witness is explained by the restore: audit
		// verify on B passes.
		s.verify(s.hostB)
		recs, err := s.append(s.hostB, "AddTagsToCertificate", s.tick(0))
		if err != nil {
			t.Fatalf("host B's change after host A's restore: %v", err)
		}
		if len(recs) != 2 || recs[0].EventName != AcceptRestoreEvent || recs[1].EventName != "AddTagsToCertificate" {
			t.Fatalf("records appended: %+v, want the acceptance then the change", recs)
		}
		p := recs[0].RequestParameters
		if p["RestoreRecord"] != float64(2) || p["WitnessedRecord"] != float64(2) || recs[0].Actor.Host != s.hostB.Path {
			t.Errorf("the acceptance record: %+v", recs[0])
		}
		s.verify(s.hostB)
		s.verify(s.hostA)
		recs, err = s.append(s.hostB, "AddTagsToCertificate", s.tick(0))
		if err != nil || len(recs) != 1 {
			t.Fatalf("host B's next change: %v %+v (want one record, no second acceptance)", err, recs)
		}
		if h, _ := s.hostB.fileHead(s.key); h == nil || h.Seq != recs[0].Seq {
			t.Fatalf("host B's witness: %+v, want record %d", h, recs[0].Seq)
		}
		s.mustAppend(s.hostA, 0)
	})
}

// TestRollbackStillRefusedAfterRestores: what a restore explains, a
// rollback does not. (2) The database put back from a copy, with no
// restore in it: refused. (3) A copy taken after a restore older than B's
// record, put back after B wrote: refused, also when the restore's host
// had a clock well ahead of B's (the restore's record claims a later time
// than B's record). (4) A genuine, later restore record of another log,
// spliced with its head onto an older copy: refused. In each case B's
// witness still reports the loss.
func TestRollbackStillRefusedAfterRestores(t *testing.T) {
	t.Run("no restore", func(t *testing.T) {
		onBothStores(t, func(s *sharedStore) {
			s.mustAppend(s.hostA, 0)
			s.save("copy")
			s.mustAppend(s.hostB, 0)
			s.putBack("copy", nil)
			s.mustRefuse(s.hostB, "a copy without B's record")
		})
	})
	t.Run("older restore", func(t *testing.T) {
		onBothStores(t, func(s *sharedStore) {
			s.mustAppend(s.hostA, 0)
			s.save("backup")
			s.mustAppend(s.hostA, 0)
			// A's clock is an hour ahead: its restore's record claims a
			// time after B's next record.
			s.restore(s.hostA, "backup", time.Hour)
			s.mustAppend(s.hostA, 0)
			s.save("copy") // holds the restore, not B's record
			s.mustAppend(s.hostB, 0)
			s.mustAppend(s.hostA, 0)
			s.putBack("copy", nil)
			s.mustRefuse(s.hostB, "a copy taken after an older restore")
		})
	})
	t.Run("spliced restore", func(t *testing.T) {
		onBothStores(t, func(s *sharedStore) {
			s.mustAppend(s.hostA, 0)
			s.mustAppend(s.hostA, 0)
			s.save("older")          // records 1 and 2
			s.mustAppend(s.hostB, 0) // record 3: B's witness
			// Another log under the same key, of another history, whose
			// restore record (3) claims a later time than B's record.
			_, st, _, _ := witnessVault(t)
			other := &sharedStore{t: t, st: st, key: s.key, now: s.now, copies: map[string]storeCopy{}}
			elsewhere := WitnessIn(t.TempDir(), "elsewhere")
			other.mustAppend(elsewhere, 0)
			other.mustAppend(elsewhere, 0)
			if _, err := other.append(elsewhere, RestoreEvent, other.tick(0)); err != nil {
				t.Fatal(err)
			}
			other.save("restored")
			c := other.copies["restored"]
			// Its restore record and head, put after the older copy.
			s.copies["spliced"] = storeCopy{rows: append(s.copies["older"].rows, c.rows[2]), head: c.head}
			s.putBack("spliced", nil)
			s.mustRefuse(s.hostB, "a restore record spliced onto an older copy")
		})
	})
}

// TestRestoreRefusedToAnOldWitness: a witness written before the witness
// kept the chain's clock (or by Set) cannot tell a restore from a
// rollback: after a restore, its host refuses as before, until the file is
// removed.
func TestRestoreRefusedToAnOldWitness(t *testing.T) {
	onBothStores(t, func(s *sharedStore) {
		s.mustAppend(s.hostA, 0)
		s.save("backup")
		s.mustAppend(s.hostB, 0)
		var last *localstore.AuditRow
		if err := s.st.View(context.Background(), func(tx localstore.Tx) (err error) { last, err = tx.LastAudit(); return err }); err != nil {
			t.Fatal(err)
		}
		if err := s.hostB.Set(s.key, last.Seq, last.MAC); err != nil {
			t.Fatal(err)
		}
		s.restore(s.hostA, "backup", 0)
		s.mustRefuse(s.hostB, "an old witness after a restore")
		if err := s.hostB.Reset(); err != nil {
			t.Fatal(err)
		}
		s.mustAppend(s.hostB, 0)
		s.verify(s.hostB)
	})
}

// TestRestoreClocksAnOlderLog: a log whose head an older certctl wrote
// (no clock) gives no clock to the witnesses of the changes after it, so
// a restore then is refused as before; the restore reads the whole log
// once and clocks it again (its head verifies), so after that a restore
// is told from a rollback.
func TestRestoreClocksAnOlderLog(t *testing.T) {
	onBothStores(t, func(s *sharedStore) {
		s.mustAppend(s.hostA, 0)
		s.mustAppend(s.hostA, 0)
		// The head as an older certctl wrote it.
		if err := s.st.Update(context.Background(), func(tx localstore.Tx) error {
			last, err := tx.LastAudit()
			if err != nil {
				return err
			}
			hd, _ := json.Marshal(head{Seq: last.Seq, MAC: last.MAC, Tag: headTag(s.key, last.Seq, last.MAC)})
			return tx.PutMeta(headKey, hd)
		}); err != nil {
			t.Fatal(err)
		}
		s.save("backup")
		s.mustAppend(s.hostB, 0)
		if h, _ := s.hostB.fileHead(s.key); h == nil || h.clocked(s.key) {
			t.Fatalf("B's witness on a log without a clock: %+v", h)
		}
		s.restore(s.hostA, "backup", 0)
		s.verify(s.hostA)
		s.mustRefuse(s.hostB, "a witness without a clock")
		if err := s.hostB.Reset(); err != nil {
			t.Fatal(err)
		}
		s.save("backup2")
		s.mustAppend(s.hostB, 0)
		s.restore(s.hostA, "backup2", 0)
		if _, err := s.append(s.hostB, "AddTagsToCertificate", s.tick(0)); err != nil {
			t.Fatalf("B's change after a restore of the clocked log: %v", err)
		}
		s.verify(s.hostB)
	})
}

// TestVerifyHeadClock: a head whose clock, restore place or mark was
// changed — even one re-tagged under the key with a clock that is not the
// chain's — fails Verify, which reads the chain's clock from the records.
func TestVerifyHeadClock(t *testing.T) {
	onBothStores(t, func(s *sharedStore) {
		s.mustAppend(s.hostA, 0)
		s.mustAppend(s.hostA, 0)
		var good head
		s.mustView(func(tx localstore.Tx) error {
			raw, err := tx.GetMeta(headKey)
			if err != nil {
				return err
			}
			return json.Unmarshal(raw, &good)
		})
		if !good.clocked(s.key) {
			t.Fatalf("the head has no clock: %+v", good)
		}
		for name, change := range map[string]func(h *head){
			"clock changed, mark kept":   func(h *head) { h.Clock-- },
			"restore changed, mark kept": func(h *head) { h.Restore = 1 },
			"mark taken from another head": func(h *head) {
				h.Mark = markTag(s.key, h.Seq+1, h.MAC, h.Clock, h.Restore)
			},
			"clock re-tagged under the key": func(h *head) {
				*h = newHead(s.key, h.Seq, h.MAC, h.Clock+int64(time.Hour), h.Restore)
			},
			"restore re-tagged under the key": func(h *head) {
				*h = newHead(s.key, h.Seq, h.MAC, h.Clock, 1)
			},
		} {
			h := good
			change(&h)
			raw, _ := json.Marshal(h)
			if err := s.st.Update(context.Background(), func(tx localstore.Tx) error { return tx.PutMeta(headKey, raw) }); err != nil {
				t.Fatal(err)
			}
			var problem *Problem
			s.mustView(func(tx localstore.Tx) (err error) {
				_, problem, err = Verify(tx, s.key)
				return err
			})
			if problem == nil || !strings.Contains(problem.Msg, "its clock is not the chain's") {
				t.Errorf("%s: Verify found %v", name, problem)
			}
		}
		// The head as it was verifies again.
		raw, _ := json.Marshal(good)
		if err := s.st.Update(context.Background(), func(tx localstore.Tx) error { return tx.PutMeta(headKey, raw) }); err != nil {
			t.Fatal(err)
		}
		s.verify(s.hostA)
	})
}

func (s *sharedStore) mustView(fn func(tx localstore.Tx) error) {
	s.t.Helper()
	if err := s.st.View(context.Background(), fn); err != nil {
		s.t.Fatal(err)
	}
}
