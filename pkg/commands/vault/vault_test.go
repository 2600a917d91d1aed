package vault

// Unknown flags become usage errors in the root command's flag error
// function (tested there); these tests check what each command decides.

import (
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func wantUsage(t *testing.T, err error, args []string) {
	t.Helper()
	if errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("%q: exit %d (%v), want 2", args, errs.ExitCodeOf(err), err)
	}
}

func TestBackupFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdBackup, "--out-file", "b.db")
	if err != nil || o.OutFile != "b.db" {
		t.Fatalf("options %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdBackup, "--out-file", "-")
	if err != nil || o.OutFile != "-" {
		t.Fatalf("--out-file - in a pipe: %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"b.db"}, {"--out-file", ""}} {
		_, err := flagtest.Parse(t, NewCmdBackup, args...)
		wantUsage(t, err, args)
	}
}

func TestRestoreFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdRestore, "--from-file", "file://b.db")
	if err != nil || o.FromFile != "file://b.db" {
		t.Fatalf("options %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"b.db"}, {"--from-file", "b.db", "extra"}} {
		_, err := flagtest.Parse(t, NewCmdRestore, args...)
		wantUsage(t, err, args)
	}
}

func TestVerifyFlags(t *testing.T) {
	if o, err := flagtest.Parse(t, NewCmdVerify); err != nil || o == nil {
		t.Fatalf("options %+v, %v", o, err)
	}
	for _, args := range [][]string{{"x"}, {"x", "y"}} {
		_, err := flagtest.Parse(t, NewCmdVerify, args...)
		wantUsage(t, err, args)
	}
}

func TestRotateKeyFlags(t *testing.T) {
	if o, err := flagtest.Parse(t, NewCmdRotateKey); err != nil || o == nil {
		t.Fatalf("options %+v, %v", o, err)
	}
	_, err := flagtest.Parse(t, NewCmdRotateKey, "now")
	wantUsage(t, err, []string{"now"})
}

func TestChangePassphraseFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdChangePassphrase, "--new-passphrase-file", "new.txt")
	if err != nil || o.NewPassphraseFile != "new.txt" {
		t.Fatalf("options %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"new.txt"}, {"--new-passphrase-file", ""}} {
		_, err := flagtest.Parse(t, NewCmdChangePassphrase, args...)
		wantUsage(t, err, args)
	}
}

func TestMigrateFlags(t *testing.T) {
	for _, to := range []string{"postgres://u@h/db", "postgresql://h/db?sslmode=disable", "sqlite:/tmp/v.db", "sqlite:rel.db"} {
		o, err := flagtest.Parse(t, NewCmdMigrate, "--to", to)
		if err != nil || o.To != to {
			t.Errorf("--to %s: %+v, %v", to, o, err)
		}
	}
	for _, args := range [][]string{{}, {"postgres://h/db"}} {
		_, err := flagtest.Parse(t, NewCmdMigrate, args...)
		wantUsage(t, err, args)
	}
	// A URL refused is invalid input, as from --store (exit 4).
	for _, to := range []string{"sqlite:", "sqlite::memory:", "mysql://h/db", "/tmp/v.db", "postgres://h:99999/db"} {
		if _, err := flagtest.Parse(t, NewCmdMigrate, "--to", to); errs.ExitCodeOf(err) != errs.ExitInvalid {
			t.Errorf("--to %s: exit %d (%v), want 4", to, errs.ExitCodeOf(err), err)
		}
	}
}
