package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// bulkTests are the conformance tests of localstore.BulkTx and
// ExclusiveStore.
var bulkTests = []struct {
	name string
	fn   func(t *testing.T, s localstore.Store, open Opener)
}{
	{"BulkScanInsertRoundTrip", testBulkRoundTrip},
	{"BulkEmpty", testBulkEmpty},
	{"BulkSecrets", testBulkSecrets},
	{"BulkSetAuditMACs", testBulkSetAuditMACs},
	{"BulkInsertRefusesBadRows", testBulkBadRows},
	{"UpdateExclusive", testUpdateExclusive},
	{"RowBuffer", testRowBuffer},
	{"BulkCertificateColumns", testBulkCertificateColumns},
	{"VersionsOfEarlierReleases", testVersionsOfEarlierReleases},
}

func bulkUpdate(t *testing.T, s localstore.Store, fn func(localstore.BulkTx) error) {
	t.Helper()
	update(t, s, func(tx localstore.Tx) error {
		b, err := localstore.AsBulk(tx)
		if err != nil {
			return err
		}
		return fn(b)
	})
}

func bulkView(t *testing.T, s localstore.Store, fn func(localstore.BulkTx) error) {
	t.Helper()
	view(t, s, func(tx localstore.Tx) error {
		b, err := localstore.AsBulk(tx)
		if err != nil {
			return err
		}
		return fn(b)
	})
}

// fillEveryTable writes rows to every table, with NULLs, binary values,
// bytes that are not UTF-8 and an event and audit log.
func fillEveryTable(t *testing.T, s localstore.Store) {
	t.Helper()
	putCerts(t, s, fullCertificate("a"), fullCertificate("b"))
	update(t, s, func(tx localstore.Tx) error {
		for _, n := range []int{1, 2, 10} {
			v := version(n)
			v.KeyRef = fmt.Sprintf("certificate/a/v%d/key", n)
			if err := tx.PutVersion("a", v); err != nil {
				return err
			}
			if err := tx.PutSecret(v.KeyRef, []byte{0, 0xff, byte(n)}); err != nil {
				return err
			}
		}
		if err := tx.PutVersion("b", version(1)); err != nil {
			return err
		}
		if err := tx.ReserveSerial("ca1", "01:02", "a", t0); err != nil {
			return err
		}
		if err := tx.ReserveSerial("ca1", "01:03", "b", t0.Add(time.Second)); err != nil {
			return err
		}
		if err := tx.RevokeSerial("ca1", "01:03", t0.Add(time.Hour), 4); err != nil {
			return err
		}
		if err := tx.PutObject(&localstore.Object{Kind: "ca", ID: "ca1", Data: []byte(`{"x":1}`), UpdatedAt: t0}); err != nil {
			return err
		}
		if err := tx.PutObject(&localstore.Object{Kind: "ca", ID: "ca2", Data: []byte{0xfe}}); err != nil {
			return err
		}
		if err := tx.PutMeta("k", []byte{0, 1, 2}); err != nil {
			return err
		}
		for i := range 3 {
			if _, err := tx.AppendEvent(t0.Add(time.Duration(i)*time.Second), []byte(fmt.Sprintf(`{"e":%d}`, i))); err != nil {
				return err
			}
			if err := tx.AppendAudit(localstore.AuditRow{Seq: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Second),
				Data: []byte(fmt.Sprintf(`{"a":%d}`, i)), MAC: []byte{byte(i), 0xaa}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// dumpRows reads every table through ScanTable.
func dumpRows(t *testing.T, s localstore.Store, batch int) map[string][][]any {
	t.Helper()
	out := map[string][][]any{}
	bulkView(t, s, func(b localstore.BulkTx) error {
		for _, table := range localstore.Tables() {
			err := b.ScanTable(table, batch, func(rows [][]any) error {
				if len(rows) > batch {
					return fmt.Errorf("ScanTable(%s) gave %d rows at once, batch %d", table, len(rows), batch)
				}
				out[table] = append(out[table], rows...)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out
}

func testBulkRoundTrip(t *testing.T, s localstore.Store, open Opener) {
	fillEveryTable(t, s)
	rows := dumpRows(t, s, 2)
	if n := len(rows["cert_versions"]); n != 4 {
		t.Fatalf("ScanTable(cert_versions): %d rows, want 4", n)
	}
	for _, table := range localstore.Tables() {
		for _, row := range rows[table] {
			if len(row) != len(localstore.TableColumns(table)) {
				t.Fatalf("%s row %v: %d values for columns %v", table, row, len(row), localstore.TableColumns(table))
			}
		}
	}
	// Keys in order: version 10 after 2 (numeric, not lexical).
	var nums []int64
	for _, r := range rows["cert_versions"] {
		if r[0] == "a" {
			nums = append(nums, r[1].(int64))
		}
	}
	if !slices.Equal(nums, []int64{1, 2, 10}) {
		t.Errorf("cert_versions of a in order %v, want [1 2 10]", nums)
	}
	// A NULL stays nil, a value stays int64.
	for _, r := range rows["serials"] {
		revoked := r[4]
		if r[1] == "01:02" && revoked != nil {
			t.Errorf("unrevoked serial: revoked_at %v, want nil", revoked)
		}
		if r[1] == "01:03" && revoked != t0.Add(time.Hour).UnixNano() {
			t.Errorf("revoked serial: revoked_at %v", revoked)
		}
	}

	// Copy into a second store of the same backend through InsertRows: the
	// copy scans the same.
	other := open(t)
	bulkUpdate(t, other, func(b localstore.BulkTx) error {
		for _, table := range localstore.Tables() {
			if err := b.InsertRows(table, rows[table]); err != nil {
				return err
			}
		}
		return nil
	})
	if got := dumpRows(t, other, 1000); !reflect.DeepEqual(got, rows) {
		t.Errorf("rows after a copy differ:\n got %v\nwant %v", got, rows)
	}
	// The copy's event sequence goes on after the copied events.
	update(t, other, func(tx localstore.Tx) error {
		seq, err := tx.AppendEvent(t0, []byte(`{}`))
		if err == nil && seq != 4 {
			err = fmt.Errorf("AppendEvent after copying 3 events: seq %d, want 4", seq)
		}
		return err
	})
	// And the copied records read back through Tx as the originals do.
	for _, id := range []string{"a", "b"} {
		want, _ := getCert(t, s, id)
		got, err := getCert(t, other, id)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("GetCertificate(%s) of the copy: %+v, %v", id, got, err)
		}
	}
}

func testBulkEmpty(t *testing.T, s localstore.Store, open Opener) {
	isEmpty := func() bool {
		var empty bool
		bulkView(t, s, func(b localstore.BulkTx) (err error) {
			empty, err = localstore.IsEmpty(b)
			return err
		})
		return empty
	}
	if !isEmpty() {
		t.Fatal("a new store is not empty")
	}
	update(t, s, func(tx localstore.Tx) error {
		if err := tx.PutMeta(localstore.MetaMasterKeyCheck, []byte("c")); err != nil {
			return err
		}
		return tx.PutMeta(localstore.MetaMasterKeyID, []byte("id"))
	})
	if !isEmpty() {
		t.Error("a store holding only the master key's records is not empty")
	}
	update(t, s, func(tx localstore.Tx) error { return tx.PutMeta("other", []byte("x")) })
	if isEmpty() {
		t.Error("a store with another meta value is empty")
	}
	bulkUpdate(t, s, func(b localstore.BulkTx) error {
		if err := b.DeleteMeta("other"); err != nil {
			return err
		}
		return b.DeleteMeta("never-there")
	})
	if !isEmpty() {
		t.Error("not empty after DeleteMeta")
	}
	bulkView(t, s, func(b localstore.BulkTx) error {
		keys, err := b.MetaKeys()
		if err == nil && !slices.Equal(keys, []string{localstore.MetaMasterKeyCheck, localstore.MetaMasterKeyID}) {
			err = fmt.Errorf("MetaKeys = %v", keys)
		}
		return err
	})
	update(t, s, func(tx localstore.Tx) error {
		_, err := tx.AppendEvent(t0, []byte("{}"))
		return err
	})
	if isEmpty() {
		t.Error("a store with an event is empty")
	}
	bulkView(t, s, func(b localstore.BulkTx) error {
		counts, err := b.RowCounts()
		if err != nil {
			return err
		}
		if counts["events"] != 1 || counts["meta"] != 2 || counts["certificates"] != 0 || len(counts) != len(localstore.Tables()) {
			return fmt.Errorf("RowCounts = %v", counts)
		}
		return nil
	})
}

func testBulkSecrets(t *testing.T, s localstore.Store, open Opener) {
	var refs []string
	bulkUpdate(t, s, func(b localstore.BulkTx) error {
		var secrets []localstore.Secret
		for i := range 25 {
			ref := fmt.Sprintf("k/%02d", i)
			refs = append(refs, ref)
			secrets = append(secrets, localstore.Secret{Ref: ref, Sealed: []byte{byte(i), 0}})
		}
		return b.PutSecrets(secrets)
	})
	var got []string
	bulkView(t, s, func(b localstore.BulkTx) error {
		after := ""
		for {
			page, err := b.ScanSecrets(after, 10)
			if err != nil {
				return err
			}
			for _, sec := range page {
				got = append(got, sec.Ref)
			}
			if len(page) < 10 {
				return nil
			}
			after = page[len(page)-1].Ref
		}
	})
	if !slices.Equal(got, refs) {
		t.Errorf("ScanSecrets pages: %v", got)
	}
	bulkUpdate(t, s, func(b localstore.BulkTx) error {
		return b.PutSecrets([]localstore.Secret{{Ref: "k/03", Sealed: []byte("new")}})
	})
	view(t, s, func(tx localstore.Tx) error {
		for ref, want := range map[string][]byte{"k/03": []byte("new"), "k/04": {4, 0}} {
			got, err := tx.GetSecret(ref)
			if err != nil || !bytes.Equal(got, want) {
				return fmt.Errorf("GetSecret(%s) after PutSecrets = %v, %v", ref, got, err)
			}
		}
		return nil
	})
}

func testBulkSetAuditMACs(t *testing.T, s localstore.Store, open Opener) {
	fillEveryTable(t, s)
	bulkUpdate(t, s, func(b localstore.BulkTx) error {
		return b.SetAuditMACs([]localstore.AuditRow{{Seq: 1, MAC: []byte("m1")}, {Seq: 3, MAC: []byte("m3")}})
	})
	view(t, s, func(tx localstore.Tx) error {
		rows, err := tx.ListAudit(0, 0)
		if err != nil {
			return err
		}
		var macs []string
		for _, r := range rows {
			macs = append(macs, string(r.MAC))
		}
		if !slices.Equal(macs, []string{"m1", string([]byte{1, 0xaa}), "m3"}) {
			return fmt.Errorf("MACs after SetAuditMACs: %q", macs)
		}
		return nil
	})
	err := s.Update(ctx(t), func(tx localstore.Tx) error {
		b, _ := localstore.AsBulk(tx)
		return b.SetAuditMACs([]localstore.AuditRow{{Seq: 99, MAC: []byte("x")}})
	})
	if !errors.Is(err, localstore.ErrNotFound) {
		t.Errorf("SetAuditMACs of a missing record: %v, want ErrNotFound", err)
	}
}

func testBulkBadRows(t *testing.T, s localstore.Store, open Opener) {
	for _, tc := range []struct {
		table string
		row   []any
	}{
		{"secrets", []any{"r"}},
		{"secrets", []any{"r", "not bytes"}},
		{"events", []any{int64(1), nil, []byte("{}")}},
		{"nope", []any{}},
	} {
		err := s.Update(ctx(t), func(tx localstore.Tx) error {
			b, _ := localstore.AsBulk(tx)
			return b.InsertRows(tc.table, [][]any{tc.row})
		})
		if err == nil {
			t.Errorf("InsertRows(%s, %v) accepted", tc.table, tc.row)
		}
	}
	bulkView(t, s, func(b localstore.BulkTx) error {
		empty, err := localstore.IsEmpty(b)
		if err == nil && !empty {
			err = errors.New("a refused row was written")
		}
		return err
	})
}

// testUpdateExclusive runs exclusive read-modify-write transactions beside
// ordinary ones: none is lost.
func testUpdateExclusive(t *testing.T, s localstore.Store, open Opener) {
	const n = 10
	errc := make(chan error, 2*n)
	for i := range 2 * n {
		go func() {
			fn := func(tx localstore.Tx) error {
				b, err := tx.GetMeta("counter")
				c := 0
				if err == nil {
					fmt.Sscan(string(b), &c)
				} else if !errors.Is(err, localstore.ErrNotFound) {
					return err
				}
				return tx.PutMeta("counter", []byte(fmt.Sprint(c+1)))
			}
			if i%2 == 0 {
				errc <- localstore.UpdateExclusive(ctx(t), s, fn)
			} else {
				errc <- s.Update(ctx(t), fn)
			}
		}()
	}
	for range 2 * n {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	view(t, s, func(tx localstore.Tx) error {
		b, err := tx.GetMeta("counter")
		if err == nil && string(b) != fmt.Sprint(2*n) {
			err = fmt.Errorf("counter = %s, want %d", b, 2*n)
		}
		return err
	})
}

// testRowBuffer checks that a RowBuffer writes exactly the rows that the
// transaction's PutCertificate, PutVersion and PutSecret write (the same
// columns, summary and tags included), so that a store seeded through it
// is one those methods could have written.
func testRowBuffer(t *testing.T, s localstore.Store, open Opener) {
	certs := append(summaryFixture(), fullCertificate("full"))
	write := func(tx localstore.Tx) error {
		for i, c := range certs {
			v := version(1)
			v.KeyRef = fmt.Sprintf("certificate/%s/v1/key", c.ID)
			if err := tx.PutSecret(v.KeyRef, []byte{0, 0xff, byte(i)}); err != nil {
				return err
			}
			if err := tx.PutVersion(c.ID, v); err != nil {
				return err
			}
			if err := tx.PutCertificate(c); err != nil {
				return err
			}
		}
		return nil
	}
	update(t, s, write)
	buffered := open(t)
	update(t, buffered, func(tx localstore.Tx) error {
		b, err := localstore.NewRowBuffer(tx)
		if err != nil {
			return err
		}
		if err := write(b); err != nil {
			return err
		}
		return b.Flush()
	})
	want, got := dumpRows(t, s, 100), dumpRows(t, buffered, 100)
	for _, table := range []string{"certificates", "cert_versions", "secrets"} {
		if len(want[table]) == 0 {
			t.Fatalf("%s: no rows written", table)
		}
		if !reflect.DeepEqual(got[table], want[table]) {
			t.Errorf("%s: RowBuffer wrote\n%v\nPut methods wrote\n%v", table, got[table], want[table])
		}
	}
	var list []*localstore.Certificate
	view(t, buffered, func(tx localstore.Tx) error {
		var err error
		list, err = tx.ListCertificateSummaries(localstore.CertificateFilter{})
		return err
	})
	if len(list) != len(certs) {
		t.Errorf("listed %d buffered certificates, want %d", len(list), len(certs))
	}
}

// testBulkCertificateColumns: a certificates row as PutCertificate writes
// it decodes (CertificateFromRow) to the stored certificate with no
// disagreement; a row whose derived columns were changed apart from its
// record names them, a summary still NULL (an older row) is none, and a
// record that does not decode is an error.
func testBulkCertificateColumns(t *testing.T, s localstore.Store, _ Opener) {
	c := fullCertificate("a")
	putCerts(t, s, c)
	row := firstRow(t, s, "certificates")
	got, drift, err := localstore.CertificateFromRow(row)
	if err != nil || len(drift) != 0 {
		t.Fatalf("CertificateFromRow of a row PutCertificate wrote: %v, drift %q", err, drift)
	}
	stored, err := getCert(t, s, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, stored) {
		t.Errorf("CertificateFromRow:\n got %+v\nwant %+v", got, stored)
	}

	rewrite := func(change func(r []any)) []string {
		t.Helper()
		r := slices.Clone(row)
		change(r)
		bulkUpdate(t, s, func(b localstore.BulkTx) error {
			if err := b.DeleteCertificate("a"); err != nil {
				return err
			}
			return b.InsertRows("certificates", [][]any{r})
		})
		_, drift, err := localstore.CertificateFromRow(firstRow(t, s, "certificates"))
		if err != nil {
			t.Fatalf("CertificateFromRow: %v", err)
		}
		return drift
	}
	// Columns 2 and 14: status and summary (localstore's tableSpecs).
	drift = rewrite(func(r []any) {
		r[2] = "REVOKED"
		r[14] = []byte{1, 0}
	})
	if len(drift) != 2 || !strings.HasPrefix(drift[0], `status: "REVOKED" in the column, "ISSUED" in the record`) || drift[1] != "summary" {
		t.Errorf("status and summary changed: drift %q", drift)
	}
	if drift = rewrite(func(r []any) { r[14] = nil }); len(drift) != 0 {
		t.Errorf("a NULL summary (a row older than the column) is reported: %q", drift)
	}
	if drift = rewrite(func(r []any) { r[6] = nil }); len(drift) != 1 || !strings.HasPrefix(drift[0], "not_after: none in the column, ") {
		t.Errorf("not_after removed: drift %q", drift)
	}
	bad := slices.Clone(row)
	bad[11] = []byte("{not json")
	if _, _, err := localstore.CertificateFromRow(bad); err == nil {
		t.Error("CertificateFromRow accepted a record that does not decode")
	}
	if _, _, err := localstore.CertificateFromRow(row[:3]); err == nil {
		t.Error("CertificateFromRow accepted a short row")
	}
}

// firstRow is the first row of table, as ScanTable returns it.
func firstRow(t *testing.T, s localstore.Store, table string) (row []any) {
	t.Helper()
	bulkView(t, s, func(b localstore.BulkTx) error {
		return b.ScanTable(table, 1, func(rows [][]any) error {
			if row == nil {
				row = rows[0]
			}
			return nil
		})
	})
	if row == nil {
		t.Fatalf("no row in %s", table)
	}
	return row
}

// testVersionsOfEarlierReleases: a certificate version as releases before
// schema 15 (PostgreSQL 13) wrote it — its PEM as base64 of the text —
// reads back as the PEM it holds, and a version written now holds its PEM
// as the text itself (localstore.PEMText).
func testVersionsOfEarlierReleases(t *testing.T, s localstore.Store, _ Opener) {
	putCerts(t, s, fullCertificate("a"))
	old := version(1)
	earlier, err := json.Marshal(struct {
		Number         int       `json:"number"`
		Serial         string    `json:"serial"`
		NotBefore      time.Time `json:"notBefore"`
		NotAfter       time.Time `json:"notAfter"`
		IssuedAt       time.Time `json:"issuedAt"`
		CertificatePEM []byte    `json:"certificatePem"`
		ChainPEM       []byte    `json:"chainPem"`
	}{old.Number, old.Serial, old.NotBefore, old.NotAfter, old.IssuedAt, old.CertificatePEM, old.ChainPEM})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(earlier, []byte("BEGIN")) {
		t.Fatalf("the earlier record holds PEM text: %s", earlier)
	}
	bulkUpdate(t, s, func(b localstore.BulkTx) error {
		return b.InsertRows("cert_versions", [][]any{{"a", int64(1), earlier}})
	})
	update(t, s, func(tx localstore.Tx) error { return tx.PutVersion("a", version(2)) })
	view(t, s, func(tx localstore.Tx) error {
		got, err := tx.GetVersion("a", 1)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, old) {
			t.Errorf("GetVersion of an earlier release's record:\n got %+v\nwant %+v", got, old)
		}
		list, err := tx.ListVersions("a")
		if err != nil {
			return err
		}
		if len(list) != 2 || !reflect.DeepEqual(list[0], old) || !reflect.DeepEqual(list[1], version(2)) {
			t.Errorf("ListVersions: %+v", list)
		}
		return nil
	})
	rows := dumpRows(t, s, 10)["cert_versions"]
	if len(rows) != 2 {
		t.Fatalf("%d version rows, want 2", len(rows))
	}
	if data := rows[1][2].([]byte); !bytes.Contains(data, []byte(`"certificatePem":"-----BEGIN CERTIFICATE-----\nv2\n`)) ||
		!bytes.Contains(data, []byte(`"chainPem":"-----BEGIN CERTIFICATE-----\nchain\n`)) {
		t.Errorf("a version written now does not hold its PEM as text: %s", data)
	}
}
