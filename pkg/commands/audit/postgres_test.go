package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/errs"
)

// pgAudit is direct access to the audit table, as someone with database
// access but without the vault's master key has.
type pgAudit struct {
	t    *testing.T
	conn *pgx.Conn
}

func (a pgAudit) exec(q string, args ...any) {
	a.t.Helper()
	if _, err := a.conn.Exec(context.Background(), q, args...); err != nil {
		a.t.Fatalf("%s: %v", q, err)
	}
}

type auditRow struct {
	seq, time int64
	data, mac []byte
}

func (a pgAudit) rows() []auditRow {
	a.t.Helper()
	rows, err := a.conn.Query(context.Background(), `SELECT seq, time, data, mac FROM audit ORDER BY seq`)
	if err != nil {
		a.t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.seq, &r.time, &r.data, &r.mac); err != nil {
			a.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// find returns the row of the record named name with outcome.
func (a pgAudit) find(name, outcome string) auditRow {
	a.t.Helper()
	for _, r := range a.rows() {
		var rec struct{ EventName, Outcome string }
		json.Unmarshal(r.data, &rec)
		if rec.EventName == name && rec.Outcome == outcome {
			return r
		}
	}
	a.t.Fatalf("no %s %s record", outcome, name)
	return auditRow{}
}

func (a pgAudit) put(r auditRow) {
	a.t.Helper()
	a.exec(`INSERT INTO audit (seq, time, data, mac) VALUES ($1, $2, $3, $4)`, r.seq, r.time, r.data, r.mac)
}

func eventID(data []byte) string {
	var rec struct{ EventId string }
	json.Unmarshal(data, &rec)
	return rec.EventId
}

// wantBroken runs audit verify and requires exit 6 with stderr naming the
// record (prefix, e.g. "audit record 3 (") and saying what.
func wantBroken(t *testing.T, e *clitest.Env, prefix, what string) {
	t.Helper()
	r := e.Run("audit", "verify")
	if r.Code != errs.ExitVaultUnavailable || !strings.Contains(r.Stderr, prefix) || !strings.Contains(r.Stderr, what) {
		t.Fatalf("%v\nwant exit 6 naming %q, %q", r, prefix, what)
	}
}

func wantWhole(t *testing.T, e *clitest.Env, n int) {
	t.Helper()
	var out struct {
		Valid          bool
		RecordsChecked int
	}
	e.JSON(&out, "audit", "verify")
	if !out.Valid || out.RecordsChecked != n {
		t.Fatalf("audit verify: %+v, want %d records checked", out, n)
	}
}

// TestAuditTamperingPostgres: on a PostgreSQL store, changes are recorded as
// on SQLite, and altering, deleting (a middle and the newest record) or
// inserting an audit row in the database makes audit verify exit 6 naming
// the record; restoring the row makes the chain whole again.
func TestAuditTamperingPostgres(t *testing.T) {
	u := pgtest.FreshSchema(t)
	e := clitest.New(t)
	e.Vars["CERTCTL_STORE"] = u
	keep := e.RequestPrivate("keep.internal")
	gone := e.RequestPrivate("gone.internal")
	e.Export(gone)
	e.MustRun("revoke", gone, "--revocation-reason", "KEY_COMPROMISE")
	if r := e.Run("revoke", gone, "--revocation-reason", "SUPERSEDED"); r.Code != errs.ExitRefused {
		t.Fatalf("second revoke: %v", r)
	}
	e.MustRun("account-config", "put", "--days-before-expiry", "30")
	e.MustRun("account-config", "put", "--days-before-expiry", "20")
	e.MustRun("tags", "add", keep, "--tags", "env=prod")

	var list struct {
		AuditEvents []struct {
			EventName, Outcome, ErrorCode string
			Actor                         struct{ Type, Id, Host string }
			Resources                     []string
		}
	}
	e.JSON(&list, "audit", "list", "--event-name", "RevokeCertificate")
	if len(list.AuditEvents) != 2 || list.AuditEvents[0].Outcome != "SUCCESS" || list.AuditEvents[1].ErrorCode != "InvalidStateException" ||
		list.AuditEvents[0].Actor.Type != "USER" || list.AuditEvents[0].Actor.Id == "" || list.AuditEvents[0].Actor.Host == "" ||
		len(list.AuditEvents[0].Resources) != 1 || list.AuditEvents[0].Resources[0] != gone {
		t.Fatalf("RevokeCertificate records: %+v", list.AuditEvents)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	db := pgAudit{t: t, conn: conn}
	n := len(db.rows())
	if n < 4 {
		t.Fatalf("%d audit records, want at least 4", n)
	}
	wantWhole(t, e, n)

	// Altered: the successful revocation's reason.
	rev := db.find("RevokeCertificate", "SUCCESS")
	forged := bytes.Replace(rev.data, []byte("KEY_COMPROMISE"), []byte("UNSPECIFIED"), 1)
	db.exec(`UPDATE audit SET data = $1 WHERE seq = $2`, forged, rev.seq)
	wantBroken(t, e, fmt.Sprintf("audit record %d (%s)", rev.seq, eventID(rev.data)), "altered")
	db.exec(`UPDATE audit SET data = $1 WHERE seq = $2`, rev.data, rev.seq)
	wantWhole(t, e, n)

	// Removed: a record in the middle (the refused revocation).
	failed := db.find("RevokeCertificate", "FAILURE")
	if failed.seq == int64(n) {
		t.Fatalf("the refused revocation is the newest record")
	}
	db.exec(`DELETE FROM audit WHERE seq = $1`, failed.seq)
	wantBroken(t, e, fmt.Sprintf("audit record %d:", failed.seq), "removed")
	db.put(failed)
	wantWhole(t, e, n)

	// Removed: the newest record.
	rows := db.rows()
	last := rows[len(rows)-1]
	db.exec(`DELETE FROM audit WHERE seq = $1`, last.seq)
	wantBroken(t, e, fmt.Sprintf("audit record %d:", last.seq), "removed")
	db.put(last)
	wantWhole(t, e, n)

	// Inserted: a made-up record with a made-up MAC after the first
	// account-config change, the later records moved up one.
	at := db.find("PutAccountConfiguration", "SUCCESS")
	db.exec(`UPDATE audit SET seq = -seq WHERE seq > $1`, at.seq)
	db.exec(`UPDATE audit SET seq = 1 - seq WHERE seq < 0`)
	mac := make([]byte, 32)
	rand.Read(mac)
	fake := auditRow{seq: at.seq + 1, time: at.time + 1, data: bytes.Replace(at.data, []byte(`"DaysBeforeExpiry":30`), []byte(`"DaysBeforeExpiry":1`), 1), mac: mac}
	db.put(fake)
	wantBroken(t, e, fmt.Sprintf("audit record %d (", fake.seq), "inserted")
	// The forged record is listed, but verify does not accept it.
	e.JSON(&list, "audit", "list", "--event-name", "PutAccountConfiguration")
	if len(list.AuditEvents) != 3 {
		t.Errorf("%d PutAccountConfiguration records listed, want 3 (one forged)", len(list.AuditEvents))
	}
}
