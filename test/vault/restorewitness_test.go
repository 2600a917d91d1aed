package vault

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/internal/pgtest"
)

// TestRestoreOnASharedStore: hosts A and B (vault directories with the
// same key) share a PostgreSQL store. B changes it after A's backup; the
// store is emptied and A restores the backup. B's next change succeeds
// with no one touching B's witness, the log records B's acceptance of the
// restore, and both hosts' verifications pass. Before, B refused every
// change (exit 6, AuditChainBroken) until its witness file was removed.
func TestRestoreOnASharedStore(t *testing.T) {
	store := pgtest.FreshSchema(t)
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	onStore := []string{"CERTCTL_STORE=" + store}
	mustRequest(t, a, onStore, "a1.internal")
	if err := os.MkdirAll(b, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "master.key"), readFile(t, filepath.Join(a, "master.key")), 0o600); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(root, "v.bak")
	if r := runEnv(a, onStore, "vault", "backup", "--out-file", backup, "-o", "json"); r.Code != 0 {
		t.Fatalf("backup: %v", r)
	}
	mustRequest(t, b, onStore, "b1.internal")
	mustRequest(t, a, onStore, "a2.internal")

	// The store emptied (a fresh database in its place), then restored.
	conn, err := pgx.Connect(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT IN ('schema_migrations', 'write_lock') LOOP
			EXECUTE 'DELETE FROM ' || quote_ident(r.tablename);
		END LOOP; END $$`); err != nil {
		t.Fatal(err)
	}
	if r := runEnv(a, onStore, "vault", "restore", "--from-file", backup, "-o", "json"); r.Code != 0 {
		t.Fatalf("restore: %v", r)
	}

	mustVerify(t, b, onStore)
	mustRequest(t, b, onStore, "b2.internal")
	mustRequest(t, a, onStore, "a3.internal")
	mustVerify(t, a, onStore)
	mustVerify(t, b, onStore)
	r := runEnv(b, onStore, "audit", "list", "--event-name", "AcceptRestoredAuditLog", "-o", "json")
	var out struct {
		AuditEvents []struct {
			EventName         string
			RequestParameters map[string]any
		}
	}
	if r.Code != 0 || json.Unmarshal(r.Stdout, &out) != nil || len(out.AuditEvents) != 1 {
		t.Fatalf("the record of B's acceptance: %v", r)
	}
	if p := out.AuditEvents[0].RequestParameters; p["RestoreRecord"] == nil || p["WitnessedRecord"] == nil {
		t.Errorf("the acceptance record: %+v", out.AuditEvents[0])
	}
}
