package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

func newCore(t *testing.T, opts localstore.Options) *Core {
	t.Helper()
	v, err := localstore.Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return &Core{
		Vault: v, Now: func() time.Time { return now },
		Names: inventory.Names{Region: "local", Account: "000000000000"},
		Actor: audit.Actor{Type: audit.ActorUser, ID: "alice", Host: "h1"},
	}
}

func records(t *testing.T, c *Core) []*audit.Record {
	t.Helper()
	var out []*audit.Record
	if err := c.Read(context.Background(), func(tx localstore.Tx) error {
		var err error
		out, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestChangeRecordsSuccessAndRuleFailures(t *testing.T) {
	c := newCore(t, localstore.Options{})
	ctx := context.Background()
	err := c.Change(ctx, "AddTagsToCertificate", func(op *Op) error {
		op.Resource("arn:a", "arn:a", "")
		op.Param("Tags", []string{"env=prod"})
		op.Param("Passphrase", "hunter2")
		return op.Tx.PutMeta("x", []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Change(ctx, "RevokeCertificate", func(op *Op) error {
		op.Resource("arn:b")
		if err := op.Tx.PutMeta("y", []byte("1")); err != nil {
			return err
		}
		return errs.Refusedf("certificate b is already revoked")
	})
	if errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Fatalf("refusal: %v", err)
	}
	// An unexpected failure is not a rule: nothing is recorded for it.
	err = c.Change(ctx, "DeleteCertificate", func(op *Op) error { return errors.New("disk on fire") })
	if errs.ExitCodeOf(err) != errs.ExitFailure {
		t.Fatalf("failure: %v", err)
	}

	recs := records(t, c)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2: %+v", len(recs), recs)
	}
	ok, fail := recs[0], recs[1]
	if ok.EventName != "AddTagsToCertificate" || ok.Outcome != audit.OutcomeSuccess ||
		strings.Join(ok.Resources, ",") != "arn:a" || ok.Actor != c.Actor || ok.EventTime != "2030-01-02T03:04:05Z" {
		t.Errorf("success record %+v", ok)
	}
	if ok.RequestParameters["Passphrase"] != audit.Redacted {
		t.Errorf("a passphrase parameter was recorded: %v", ok.RequestParameters)
	}
	if fail.EventName != "RevokeCertificate" || fail.Outcome != audit.OutcomeFailure ||
		fail.ErrorCode != "InvalidStateException" || !strings.Contains(fail.ErrorMessage, "already revoked") ||
		strings.Join(fail.Resources, ",") != "arn:b" {
		t.Errorf("failure record %+v", fail)
	}
	// The failed change's own writes were rolled back.
	_ = c.Read(ctx, func(tx localstore.Tx) error {
		if _, err := tx.GetMeta("y"); !errors.Is(err, localstore.ErrNotFound) {
			t.Errorf("the refused change's write survived: %v", err)
		}
		return nil
	})
	var n int64
	_ = c.Read(ctx, func(tx localstore.Tx) error {
		s, _ := c.Vault.Sealer()
		var p *audit.Problem
		var err error
		n, p, err = audit.Verify(tx, s.AuditKey())
		if err != nil || p != nil {
			t.Errorf("verify: %v %v", p, err)
		}
		return nil
	})
	if n != 2 {
		t.Errorf("verified %d records", n)
	}
}

func TestChangeDeliversEventsAfterCommitOnly(t *testing.T) {
	c := newCore(t, localstore.Options{})
	out := filepath.Join(t.TempDir(), "hook.out")
	c.EventHook = "cat >> " + out
	var hookErr bytes.Buffer
	c.HookOut = &hookErr
	ctx := context.Background()
	cert := &localstore.Certificate{ID: "c1", Type: inventory.TypePrivate, DomainName: "a.test"}
	emit := func(op *Op) error { return op.Events.EmitAvailable(op.Tx, cert, events.ActionIssuance) }
	if err := c.Change(ctx, "RequestCertificate", func(op *Op) error {
		if err := emit(op); err != nil {
			return err
		}
		return errs.Invalidf("no")
	}); err == nil {
		t.Fatal("want an error")
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the hook ran for a rolled-back change")
	}
	if err := c.Change(ctx, "RequestCertificate", emit); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(data), `"detail-type":"Certificate Available"`) {
		t.Fatalf("hook got %q (%v), stderr %q", data, err, hookErr.String())
	}
}

func TestChangeNeedsTheKey(t *testing.T) {
	dir := t.TempDir()
	fast := localstore.ScryptParams{N: 1 << 4, R: 1, P: 1}
	v, err := localstore.Open(context.Background(), dir, localstore.Options{Passphrase: []byte("pw"), Scrypt: fast})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Sealer(); err != nil {
		t.Fatal(err)
	}
	v.Close()
	locked, err := localstore.Open(context.Background(), dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer locked.Close()
	c := &Core{Vault: locked, Now: time.Now}
	err = c.Change(context.Background(), "AddTagsToCertificate", func(op *Op) error { return nil })
	if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable {
		t.Fatalf("locked vault: %v (exit %d), want exit 6", err, errs.ExitCodeOf(err))
	}
}

// TestWitnessIsPerStore: a vault directory pointed at another store (the
// README's way to a team database) keeps a witness per store, so one
// store's head never makes the other's log look truncated.
func TestWitnessIsPerStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func(url string) *Core {
		v, err := localstore.Open(ctx, dir, localstore.Options{StoreURL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		return &Core{Vault: v, Now: time.Now, Actor: audit.Actor{Type: audit.ActorUser, ID: "u"}}
	}
	a := open("")
	for i := 0; i < 5; i++ {
		if err := a.Change(ctx, "AddTagsToCertificate", func(op *Op) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	b := open("sqlite:" + filepath.Join(dir, "other.db"))
	if err := b.Change(ctx, "AddTagsToCertificate", func(op *Op) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Core{"first store": a, "second store": b} {
		s, _ := c.Vault.Sealer()
		wit := audit.WitnessOf(c.Vault)
		seen := wit.Seen()
		_ = c.Read(ctx, func(tx localstore.Tx) error {
			p, err := wit.Check(tx, s.AuditKey(), seen)
			if err != nil || p != nil {
				t.Errorf("%s: witness check %v %v", name, p, err)
			}
			return nil
		})
	}
	if a.Vault.StoreIdentity() == b.Vault.StoreIdentity() {
		t.Fatal("two stores, one identity")
	}
	ws, _ := filepath.Glob(filepath.Join(dir, audit.WitnessPrefix+"*"))
	if len(ws) != 2 {
		t.Errorf("witness files %v, want one per store", ws)
	}
}

func TestChangeBatch(t *testing.T) {
	c := newCore(t, localstore.Options{})
	ctx := context.Background()
	put := func(k string, fail bool) func(*Op) error {
		return func(op *Op) error {
			op.Resource("arn:" + k)
			if err := op.Tx.PutMeta(k, []byte("1")); err != nil {
				return err
			}
			if fail {
				return errs.Invalidf("bad %s", k)
			}
			return nil
		}
	}
	// All succeed: one transaction, one record each.
	if errsOut := c.ChangeBatch(ctx, "ImportCertificate", []func(*Op) error{put("a", false), put("b", false)}); errsOut[0] != nil || errsOut[1] != nil {
		t.Fatalf("batch: %v", errsOut)
	}
	// One fails: the others are redone alone and kept, the failure is
	// recorded once, and nothing of the rolled-back attempt remains.
	out := c.ChangeBatch(ctx, "ImportCertificate", []func(*Op) error{put("c", false), put("d", true), put("e", false)})
	if out[0] != nil || errs.ExitCodeOf(out[1]) != errs.ExitInvalid || out[2] != nil {
		t.Fatalf("batch with a failure: %v", out)
	}
	var got []string
	for _, r := range records(t, c) {
		got = append(got, r.Resources[0]+":"+r.Outcome)
	}
	want := "arn:a:SUCCESS arn:b:SUCCESS arn:c:SUCCESS arn:d:FAILURE arn:e:SUCCESS"
	if strings.Join(got, " ") != want {
		t.Fatalf("records %v, want %s", got, want)
	}
	_ = c.Read(ctx, func(tx localstore.Tx) error {
		for _, k := range []string{"a", "b", "c", "e"} {
			if _, err := tx.GetMeta(k); err != nil {
				t.Errorf("%s: %v", k, err)
			}
		}
		if _, err := tx.GetMeta("d"); !errors.Is(err, localstore.ErrNotFound) {
			t.Errorf("the failed change's write survived: %v", err)
		}
		return nil
	})
}

func TestChangeIfUnchangedRecordsNothing(t *testing.T) {
	c := newCore(t, localstore.Options{})
	ctx := context.Background()
	changed, err := c.ChangeIf(ctx, "CheckDomainValidation", func(op *Op) error {
		if err := op.Tx.PutMeta("x", []byte("1")); err != nil {
			return err
		}
		return ErrUnchanged
	})
	if err != nil || changed {
		t.Fatalf("ChangeIf = %v, %v", changed, err)
	}
	if n := len(records(t, c)); n != 0 {
		t.Fatalf("%d records for an unchanged change", n)
	}
	changed, err = c.ChangeIf(ctx, "CheckDomainValidation", func(op *Op) error { return op.Tx.PutMeta("x", []byte("1")) })
	if err != nil || !changed || len(records(t, c)) != 1 {
		t.Fatalf("ChangeIf with a change = %v, %v", changed, err)
	}
}

// TestWrongPassphraseSaysWhy: a wrong passphrase exits 6, and what the
// vault layer says about it (on a shared store: the passphrase was changed
// on another machine) reaches the message instead of a bare "wrong vault
// passphrase".
func TestWrongPassphraseSaysWhy(t *testing.T) {
	err := MapError(fmt.Errorf("%w: changed on another machine with vault change-passphrase", localstore.ErrWrongPassphrase))
	if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), "wrong vault passphrase: changed on another machine") {
		t.Errorf("MapError = %v (exit %d), want exit 6 with the reason", err, errs.ExitCodeOf(err))
	}
}

// TestStoreErrorHint: a PostgreSQL store that cannot be reached makes the
// vault unavailable (exit 6) with a hint saying what to check.
func TestStoreErrorHint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := localstore.OpenPostgres(ctx, "postgres://certctl:s3cret@127.0.0.1:1/certctl?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("opened a store where nothing listens")
	}
	var e *errs.Error
	if m := MapError(err); !errors.As(m, &e) || e.Exit != errs.ExitVaultUnavailable || !strings.Contains(e.Hint, "running and reachable") {
		t.Errorf("mapped to %#v, want exit 6 with a hint", m)
	}
}

// TestReadRefusesEmptiedLog: a read of a store whose audit log was
// emptied outside certctl, while this host's witness names a record of
// it, is refused (exit 6) — on SQLite (the database deleted: SQLite makes
// a new one) and on PostgreSQL (the tables emptied) — instead of showing
// an empty vault; a store that never held a log reads as empty.
func TestReadRefusesEmptiedLog(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			opts := localstore.Options{}
			if kind == "postgres" {
				opts.StoreURL = pgtest.FreshSchema(t)
			}
			open := func() *Core { // a new process
				v, err := localstore.Open(ctx, dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { v.Close() })
				return &Core{Vault: v, Now: time.Now, Actor: audit.Actor{Type: audit.ActorUser, ID: "u"}}
			}
			read := func(c *Core) error { return c.Read(ctx, func(localstore.Tx) error { return nil }) }
			first := open()
			if err := read(first); err != nil {
				t.Fatalf("read of a new vault: %v", err)
			}
			if err := first.Change(ctx, "AddTagsToCertificate", func(op *Op) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if err := read(open()); err != nil {
				t.Fatalf("read after a change: %v", err)
			}
			first.Vault.Close()
			if kind == "sqlite" {
				// The database replaced by a new one (a deleted one is
				// refused as lost: localstore.ErrLostDatabase).
				files, _ := filepath.Glob(filepath.Join(dir, localstore.DatabaseFile+"*"))
				for _, f := range files {
					if err := os.Remove(f); err != nil {
						t.Fatal(err)
					}
				}
				other := t.TempDir()
				v, err := localstore.Open(ctx, other, opts)
				if err != nil {
					t.Fatal(err)
				}
				v.Close()
				fresh, err := os.ReadFile(filepath.Join(other, localstore.DatabaseFile))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, localstore.DatabaseFile), fresh, 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				conn, err := pgx.Connect(ctx, opts.StoreURL)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.Exec(ctx, "DELETE FROM audit"); err != nil {
					t.Fatal(err)
				}
				conn.Close(ctx)
			}
			err := read(open())
			if code := errs.ExitCodeOf(err); code != errs.ExitVaultUnavailable || !strings.Contains(fmt.Sprint(err), "the log is empty") {
				t.Fatalf("read of the emptied store: %v (exit %d), want exit 6", err, code)
			}
		})
	}
}

// TestMapErrorBareNotFound: a record missing after the command resolved
// what it names (deleted meanwhile) says so, not a bare "not found"
// (tester: an export that lost a race with delete).
func TestMapErrorBareNotFound(t *testing.T) {
	err := MapError(localstore.ErrNotFound)
	if errs.ExitCodeOf(err) != errs.ExitNotFound || !strings.Contains(err.Error(), "deleted meanwhile") {
		t.Errorf("MapError(ErrNotFound) = %v (exit %d)", err, errs.ExitCodeOf(err))
	}
	// Still the vault layer's not found to errors.Is: a caller that goes
	// on past a record deleted meanwhile tests for it so (review: the
	// renewal pass's install never matched it, and stopped).
	if !errors.Is(err, localstore.ErrNotFound) {
		t.Errorf("MapError(ErrNotFound) = %v is not localstore.ErrNotFound to errors.Is", err)
	}
	if again := MapError(err); again.Error() != err.Error() || !errors.Is(again, localstore.ErrNotFound) {
		t.Errorf("MapError of its own result = %v", again)
	}
	wrapped := fmt.Errorf("certificate x: %w", localstore.ErrNotFound)
	if err := MapError(wrapped); err.Error() != wrapped.Error() || !errors.Is(err, localstore.ErrNotFound) {
		t.Errorf("MapError(%v) = %v, want the message kept", wrapped, err)
	}
}
