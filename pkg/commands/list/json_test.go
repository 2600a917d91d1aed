package list

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/inventory"
)

// TestWriteJSONMatchesPrint: the streaming encoder writes what -o json
// wrote with encoding/json, byte for byte, for every shape of summary.
func TestWriteJSONMatchesPrint(t *testing.T) {
	// Every field of a Summary is written: a field added to it must be
	// added to writeSummary (and to full below).
	if n := reflect.TypeOf(inventory.Summary{}).NumField(); n != 20 {
		t.Fatalf("inventory.Summary has %d fields; writeSummary writes 20", n)
	}
	at := time.Date(2031, 3, 14, 15, 9, 26, 535897000, time.FixedZone("x", 3600))
	full := inventory.Summary{
		CertificateArn: "arn:certctl:acm:local:000000000000:certificate/a", DomainName: "é\u2603<&>.example.test",
		SubjectAlternativeNameSummaries: []string{"a", "b\x1b[31m", "\u2028"}, HasAdditionalSubjectAlternativeNames: true,
		Status: "ISSUED", Type: "PRIVATE", KeyAlgorithm: "RSA_2048", KeyPairOrigin: "VAULT",
		KeyUsages: []string{"DIGITAL_SIGNATURE"}, ExtendedKeyUsages: []string{"TLS_WEB_SERVER_AUTHENTICATION", "CUSTOM"},
		ExportOption: "ENABLED", InUse: true, Exported: true, RenewalEligibility: "ELIGIBLE",
		NotBefore: inventory.TS(at), NotAfter: inventory.TS(at.Add(time.Hour)), CreatedAt: inventory.TS(at.Add(2)),
		IssuedAt: inventory.TS(at.Add(time.Second)), ImportedAt: inventory.TS(at.Add(-time.Second)), RevokedAt: inventory.TS(at.Add(time.Minute)),
	}
	sparse := inventory.Summary{CertificateArn: "arn:x", SubjectAlternativeNameSummaries: []string{}, KeyUsages: []string{}, ExtendedKeyUsages: []string{},
		CreatedAt: inventory.TS(at)}
	tok := "b2Ox"
	for _, out := range []Output{
		{CertificateSummaryList: []inventory.Summary{}},
		{CertificateSummaryList: []inventory.Summary{full}, NextToken: &tok},
		{CertificateSummaryList: []inventory.Summary{sparse, full, {}}},
	} {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "    ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(&got, out); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("writeJSON wrote\n%s\nencoding/json\n%s", got.String(), want.String())
		}
	}
}

// TestStreamedJSON: the list written a block at a time (beginJSON, a
// writeSummaries per block, endJSON) is the bytes of the whole page
// encoded at once.
func TestStreamedJSON(t *testing.T) {
	at := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	var page []inventory.Summary
	for i := range 5 {
		page = append(page, inventory.Summary{CertificateArn: "arn:" + string(rune('a'+i)), DomainName: "d.example.test",
			SubjectAlternativeNameSummaries: []string{"d.example.test"}, KeyUsages: []string{}, ExtendedKeyUsages: []string{},
			CreatedAt: inventory.TS(at), NotAfter: inventory.TS(at.Add(time.Hour))})
	}
	tok := "b2O1"
	for _, next := range []*string{nil, &tok} {
		var want, got bytes.Buffer
		if err := writeJSON(&want, Output{CertificateSummaryList: page, NextToken: next}); err != nil {
			t.Fatal(err)
		}
		j := beginJSON(&got)
		for _, b := range [][]inventory.Summary{page[:1], page[1:3], page[3:]} {
			if err := writeSummaries(j, b); err != nil {
				t.Fatal(err)
			}
		}
		if err := endJSON(j, next); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("in blocks:\n%s\nat once:\n%s", got.String(), want.String())
		}
	}
}

// writeJSON writes out whole, as runList writes a list a block at a time.
func writeJSON(w io.Writer, out Output) error {
	j := beginJSON(w)
	if err := writeSummaries(j, out.CertificateSummaryList); err != nil {
		return err
	}
	return endJSON(j, out.NextToken)
}
