package acmeserver

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestRenewalInfoOfCertificatesIssuedBeforeSerialsKeptThem: a vault made
// before serials kept the certificate they were issued for (SQLite
// migration 5) has ACME certificates whose serial rows carry no DER and no
// validity. Their renewal information comes from the inventory version
// with that serial — a window in the last third of its lifetime, not empty
// strings — and an order may replace them. A serial that was reserved but
// never signed (no DER, no version) is unknown (404).
func TestRenewalInfoOfCertificatesIssuedBeforeSerialsKeptThem(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	_, leaf := f.obtain(key, kid, nil, "old.lab.test")

	// What migration 5 left in the serial rows issued before it.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.v.Dir, localstore.DatabaseFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE serials SET der = NULL, not_before = NULL, not_after = NULL, subject = '' WHERE serial = ?`,
		x509util.FormatSerial(leaf.SerialNumber))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d serial rows blanked, want 1", n)
	}

	start, end := f.window(leaf)
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	if lastThird := leaf.NotAfter.Add(-life / 3); start.Before(lastThird.Add(-time.Second)) || !end.After(start) || end.After(leaf.NotAfter) {
		t.Errorf("window %s – %s is not inside the last third (%s – %s)", start, end, lastThird, leaf.NotAfter)
	}
	certID := acmestate.CertIDOf(leaf).String()
	o, _ := f.obtain(key, kid, map[string]any{"replaces": certID}, "old.lab.test")
	if o.Replaces != certID {
		t.Errorf("order replaces %q, want %q", o.Replaces, certID)
	}

	// A serial reserved and never signed.
	var caID string
	if err := db.QueryRow(`SELECT issuer FROM serials WHERE serial = ?`, x509util.FormatSerial(leaf.SerialNumber)).Scan(&caID); err != nil {
		t.Fatal(err)
	}
	var certRef string
	if err := db.QueryRow(`SELECT cert_id FROM serials WHERE serial = ?`, x509util.FormatSerial(leaf.SerialNumber)).Scan(&certRef); err != nil {
		t.Fatal(err)
	}
	unsigned := acmestate.CertIDOf(leaf)
	unsigned.Serial = unsigned.Serial.Add(unsigned.Serial, unsigned.Serial) // another serial
	if _, err := db.Exec(`INSERT INTO serials (issuer, serial, cert_id, created_at) VALUES (?,?,?,?)`,
		caID, x509util.FormatSerial(unsigned.Serial), certRef, time.Now().UnixNano()); err != nil {
		t.Fatal(err)
	}
	resp, body := f.renewalInfo(unsigned.String())
	wantProblem(t, "a serial never signed", resp, body, errMalformed, http.StatusNotFound)
}
