package audit_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
)

var t0 = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

// chain is a temp SQLite store holding n chained records, with raw SQL
// access to the same file for tampering (as an attacker with database
// access but no master key would).
type chain struct {
	store localstore.Store
	db    *sql.DB
	key   []byte
	n     int64
}

func newChain(t *testing.T, n int) *chain {
	t.Helper()
	path := filepath.Join(t.TempDir(), localstore.DatabaseFile)
	s, err := localstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &chain{store: s, db: db, key: make([]byte, 32)}
	rand.Read(c.key)
	for i := range n {
		c.append(t, &audit.Record{EventName: "RequestCertificate", Actor: audit.Actor{Type: audit.ActorUser, ID: "alice", Host: "h1"},
			Resources:         []string{"arn:certctl:acm:local:000000000000:certificate/" + string(rune('a'+i))},
			RequestParameters: map[string]any{"DomainName": "n" + string(rune('a'+i)) + ".internal"}})
	}
	return c
}

func (c *chain) append(t *testing.T, r *audit.Record) {
	t.Helper()
	err := c.store.Update(context.Background(), func(tx localstore.Tx) error {
		return audit.Append(tx, c.key, r, t0.Add(time.Duration(c.n)*time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	c.n++
	if r.Seq != c.n {
		t.Fatalf("appended record has seq %d, want %d", r.Seq, c.n)
	}
}

func (c *chain) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := c.db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (c *chain) verify(t *testing.T) (int64, *audit.Problem) {
	t.Helper()
	var n int64
	var p *audit.Problem
	err := c.store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		n, p, err = audit.Verify(tx, c.key)
		return err
	})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return n, p
}

// wantProblem fails unless Verify reports a problem at seq whose message
// contains what.
func (c *chain) wantProblem(t *testing.T, seq int64, what string) {
	t.Helper()
	n, p := c.verify(t)
	if p == nil {
		t.Fatalf("Verify found nothing wrong (%d records)", n)
	}
	if p.Seq != seq || !strings.Contains(p.Msg, what) {
		t.Fatalf("Verify: %v (seq %d); want seq %d, %q", p, p.Seq, seq, what)
	}
	if !strings.Contains(p.Error(), "audit record ") {
		t.Errorf("Problem.Error() = %q does not name the record", p.Error())
	}
}

func TestVerifyWholeChain(t *testing.T) {
	c := newChain(t, 0)
	if n, p := c.verify(t); n != 0 || p != nil {
		t.Fatalf("empty log: %d, %v", n, p)
	}
	c = newChain(t, 7)
	if n, p := c.verify(t); n != 7 || p != nil {
		t.Fatalf("whole chain: %d records, %v", n, p)
	}
	// A failure recorded with its error verifies as well.
	c.append(t, &audit.Record{EventName: "RevokeCertificate", Actor: audit.Actor{Type: audit.ActorUser, ID: "bob"},
		Outcome: audit.OutcomeFailure, ErrorCode: "InvalidStateException"})
	if n, p := c.verify(t); n != 8 || p != nil {
		t.Fatalf("after a failure record: %d records, %v", n, p)
	}
	// The stored records read back as appended.
	var recs []*audit.Record
	c.store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		recs, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	})
	if len(recs) != 8 || recs[0].Seq != 1 || recs[7].Seq != 8 || recs[7].ErrorCode != "InvalidStateException" ||
		recs[2].RequestParameters["DomainName"] != "nc.internal" || recs[0].EventID == "" || recs[0].EventTime != "2031-03-14T15:09:26Z" {
		t.Errorf("records read back: %+v", recs)
	}
}

func TestVerifyAlteredRecord(t *testing.T) {
	c := newChain(t, 5)
	var data []byte
	if err := c.db.QueryRow(`SELECT data FROM audit WHERE seq = 3`).Scan(&data); err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	json.Unmarshal(data, &r)
	r["Actor"] = map[string]any{"Type": "USER", "Id": "mallory", "Host": "h1"}
	forged, _ := json.Marshal(r)
	c.exec(t, `UPDATE audit SET data = ? WHERE seq = 3`, forged)
	c.wantProblem(t, 3, "altered")
}

func TestVerifyAlteredTime(t *testing.T) {
	c := newChain(t, 4)
	c.exec(t, `UPDATE audit SET time = time + 1 WHERE seq = 2`)
	c.wantProblem(t, 2, "altered")
}

func TestVerifyAlteredMAC(t *testing.T) {
	// Re-chaining the rest after an alteration needs the key: a record
	// whose MAC was recomputed without it fails, and so does the next one
	// if only that one is fixed.
	c := newChain(t, 4)
	c.exec(t, `UPDATE audit SET mac = randomblob(32) WHERE seq = 1`)
	c.wantProblem(t, 1, "altered")
}

func TestVerifyDeletedMiddle(t *testing.T) {
	c := newChain(t, 5)
	c.exec(t, `DELETE FROM audit WHERE seq = 3`)
	c.wantProblem(t, 3, "removed")
}

func TestVerifyDeletedFirst(t *testing.T) {
	c := newChain(t, 3)
	c.exec(t, `DELETE FROM audit WHERE seq = 1`)
	c.wantProblem(t, 1, "removed")
}

func TestVerifyDeletedLast(t *testing.T) {
	c := newChain(t, 5)
	c.exec(t, `DELETE FROM audit WHERE seq = 5`)
	c.wantProblem(t, 5, "removed")
}

func TestVerifyDeletedAll(t *testing.T) {
	c := newChain(t, 2)
	c.exec(t, `DELETE FROM audit`)
	c.wantProblem(t, 1, "removed")
}

func TestVerifyInsertedMiddle(t *testing.T) {
	c := newChain(t, 5)
	// Make room at 3 and insert a record there with a made-up MAC.
	c.exec(t, `UPDATE audit SET seq = -seq WHERE seq >= 3`)
	c.exec(t, `UPDATE audit SET seq = 1 - seq WHERE seq < 0`)
	c.exec(t, `INSERT INTO audit (seq, time, data, mac) SELECT 3, time + 1, data, randomblob(32) FROM audit WHERE seq = 2`)
	c.wantProblem(t, 3, "inserted")
}

func TestVerifyInsertedAtEnd(t *testing.T) {
	c := newChain(t, 4)
	c.exec(t, `INSERT INTO audit (seq, time, data, mac) SELECT 5, time + 1, data, randomblob(32) FROM audit WHERE seq = 4`)
	c.wantProblem(t, 5, "inserted")
}

func TestVerifyInsertedCopy(t *testing.T) {
	// A record copied whole (its MAC too) to the end does not chain to
	// the record before it.
	c := newChain(t, 4)
	c.exec(t, `INSERT INTO audit (seq, time, data, mac) SELECT 5, time, data, mac FROM audit WHERE seq = 4`)
	c.wantProblem(t, 5, "inserted")
}

func TestVerifyOutOfSequence(t *testing.T) {
	c := newChain(t, 3)
	c.exec(t, `INSERT INTO audit (seq, time, data, mac) VALUES (0, 1, '{}', x'00')`)
	c.wantProblem(t, 0, "inserted")
}

func TestVerifyHead(t *testing.T) {
	for _, tc := range []struct {
		name string
		head func(h map[string]any)
		seq  int64
		want string
	}{
		{"tag", func(h map[string]any) { h["tag"] = h["mac"] }, 4, "head record was altered"},
		{"seq back", func(h map[string]any) { h["seq"] = 3 }, 4, "head record was altered"},
		{"seq on", func(h map[string]any) { h["seq"] = 5 }, 4, "head record was altered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, 4)
			var raw []byte
			if err := c.db.QueryRow(`SELECT value FROM meta WHERE key = 'audit.head'`).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			var h map[string]any
			if err := json.Unmarshal(raw, &h); err != nil {
				t.Fatal(err)
			}
			tc.head(h)
			b, _ := json.Marshal(h)
			c.exec(t, `UPDATE meta SET value = ? WHERE key = 'audit.head'`, b)
			c.wantProblem(t, tc.seq, tc.want)
		})
	}
	t.Run("removed", func(t *testing.T) {
		c := newChain(t, 4)
		c.exec(t, `DELETE FROM meta WHERE key = 'audit.head'`)
		c.wantProblem(t, 4, "head record is missing")
	})
	t.Run("an older head with the newest records removed", func(t *testing.T) {
		// The head kept from an earlier state is genuine, but a record
		// appended after it shows that the log went on.
		c := newChain(t, 3)
		var old []byte
		c.db.QueryRow(`SELECT value FROM meta WHERE key = 'audit.head'`).Scan(&old)
		c.append(t, &audit.Record{EventName: "DeleteCertificate", Actor: audit.Actor{Type: audit.ActorUser, ID: "alice"}})
		c.exec(t, `UPDATE meta SET value = ? WHERE key = 'audit.head'`, old)
		c.wantProblem(t, 4, "inserted")
	})
}

func TestVerifyWrongKey(t *testing.T) {
	c := newChain(t, 2)
	c.key = make([]byte, 32)
	c.wantProblem(t, 1, "altered")
}

func TestAppendNeedsKey(t *testing.T) {
	c := newChain(t, 0)
	err := c.store.Update(context.Background(), func(tx localstore.Tx) error {
		return audit.Append(tx, nil, &audit.Record{EventName: "X"}, t0)
	})
	if err == nil {
		t.Fatal("Append without a key succeeded")
	}
}

func TestScrub(t *testing.T) {
	in := map[string]any{
		"DomainName":             "www.internal",
		"Passphrase":             "hunter2",
		"PassphraseFile":         "/tmp/p",
		"MacKey":                 "c2VjcmV0",
		"HmacKey":                "c2VjcmV0",
		"mac_key":                "c2VjcmV0",
		"PrivateKey":             "-----BEGIN PRIVATE KEY-----",
		"ApprovalCode":           "8f3a",
		"code":                   "8f3a",
		"Pin":                    "1234",
		"ClientSecret":           "s",
		"SmtpPassword":           "p",
		"KeyAlgorithm":           "RSA_2048",
		"CertificateArn":         "arn:certctl:acm:local:000000000000:certificate/x",
		"ExternalAccountBinding": map[string]any{"KeyId": "kid-1", "MacKey": "c2VjcmV0"},
		"Tags":                   []any{map[string]any{"Key": "env", "Value": "prod"}},
		"Bindings":               []any{map[string]any{"KeyId": "kid-2", "MacKey": "c2VjcmV0"}},
		"Typed":                  []map[string]any{{"Passphrase": "hunter2"}},
	}
	out := audit.Scrub(in)
	for _, k := range []string{"Passphrase", "PassphraseFile", "MacKey", "HmacKey", "mac_key", "PrivateKey", "ApprovalCode", "code", "Pin", "ClientSecret", "SmtpPassword"} {
		if out[k] != audit.Redacted {
			t.Errorf("%s = %v, want it hidden", k, out[k])
		}
	}
	for _, k := range []string{"DomainName", "KeyAlgorithm", "CertificateArn"} {
		if out[k] != in[k] {
			t.Errorf("%s = %v, want %v kept", k, out[k], in[k])
		}
	}
	eab, _ := out["ExternalAccountBinding"].(map[string]any)
	if eab["MacKey"] != audit.Redacted || eab["KeyId"] != "kid-1" {
		t.Errorf("nested: %v", eab)
	}
	if tags := out["Tags"].([]any); tags[0].(map[string]any)["Value"] != "prod" {
		t.Errorf("tags: %v", out["Tags"])
	}
	if in["Passphrase"] != "hunter2" || in["Bindings"].([]any)[0].(map[string]any)["MacKey"] != "c2VjcmV0" {
		t.Error("Scrub changed its input")
	}
	b, _ := json.Marshal(out)
	for _, secret := range []string{"hunter2", "c2VjcmV0", "8f3a", "1234", "BEGIN PRIVATE KEY"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("scrubbed parameters still hold %q: %s", secret, b)
		}
	}
	if got := audit.Scrub(nil); got == nil || len(got) != 0 {
		t.Errorf("Scrub(nil) = %v", got)
	}
}

// TestScrubTypedTags: typed tags (the bulk tag changes' parameter) take the
// fast path and keep their keys and values, which are data, not names,
// while a secret-looking name beside them is still hidden; the JSON is the
// same as that of the generic path.
func TestScrubTypedTags(t *testing.T) {
	tags := []localstore.Tag{{Key: "password", Value: "rotate-me"}, {Key: "env", Value: "prod"}}
	out := audit.Scrub(map[string]any{"Tags": tags, "Passphrase": "hunter2", "CertificateArn": "arn:x"})
	if out["Passphrase"] != audit.Redacted {
		t.Errorf("Passphrase = %v, want it hidden", out["Passphrase"])
	}
	got, _ := json.Marshal(out["Tags"])
	generic := audit.Scrub(map[string]any{"Tags": tags, "Nested": map[string]any{}})
	want, _ := json.Marshal(generic["Tags"])
	if string(got) != string(want) || !strings.Contains(string(got), `"Key":"password","Value":"rotate-me"`) {
		t.Errorf("tags = %s, want %s", got, want)
	}
}

// TestAppendScrubs: a secret passed by mistake never reaches the store.
func TestAppendScrubs(t *testing.T) {
	c := newChain(t, 0)
	c.append(t, &audit.Record{EventName: "ExportCertificate", Actor: audit.Actor{Type: audit.ActorUser, ID: "alice"},
		RequestParameters: map[string]any{"Passphrase": "hunter2", "CertificateArn": "arn:x"}})
	var data []byte
	c.db.QueryRow(`SELECT data FROM audit WHERE seq = 1`).Scan(&data)
	if strings.Contains(string(data), "hunter2") || !strings.Contains(string(data), "arn:x") {
		t.Errorf("stored record: %s", data)
	}
}
