package localstore

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func TestSummaryRoundTrip(t *testing.T) {
	at := time.Date(2031, 3, 14, 15, 9, 26, 535897001, time.FixedZone("x", 3600))
	cases := []*Certificate{
		{},
		{ID: "a", DomainName: "é\u2603\x00", SubjectAlternativeNames: []string{"a", ""}, Status: "ISSUED", Type: "PRIVATE",
			KeyPairOrigin: "VAULT", KeyAlgorithm: "RSA_2048", ExportOption: "ENABLED", RenewalEligibility: "ELIGIBLE", Exported: true,
			InUseBy: []string{"svc"}, KeyUsages: []string{"DIGITAL_SIGNATURE"},
			ExtendedKeyUsages: []EKU{{Name: "CUSTOM", OID: "1.2.3"}, {Name: "NONE"}},
			NotBefore:         time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), NotAfter: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			CreatedAt: at, IssuedAt: at.Add(1), ImportedAt: at.Add(-1), RevokedAt: time.Unix(-5, 7)},
	}
	for _, c := range cases {
		got, err := decodeSummary(encodeSummary(c))
		if err != nil {
			t.Fatalf("decodeSummary(encodeSummary(%+v)): %v", c, err)
		}
		want := *c
		for _, p := range summaryTimes(&want) {
			if !p.IsZero() {
				*p = p.UTC()
			}
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", *got, want)
		}
	}
}

func TestSummaryMalformed(t *testing.T) {
	good := encodeSummary(&Certificate{ID: "a", SubjectAlternativeNames: []string{"x"}, CreatedAt: time.Unix(1, 0)})
	for _, b := range [][]byte{nil, {}, {summaryVersion}, {2, 0}, {summaryVersion, 0x80}, good[:len(good)-1], append(append([]byte(nil), good...), 0),
		{summaryVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := decodeSummary(b); err == nil {
			t.Errorf("decodeSummary(%x) accepted", b)
		}
	}
}

// FuzzDecodeSummary: decodeSummary never panics, and what it accepts
// encodes back to the same bytes.
func FuzzDecodeSummary(f *testing.F) {
	f.Add(encodeSummary(&Certificate{}))
	f.Add(encodeSummary(&Certificate{ID: "a", DomainName: "d", SubjectAlternativeNames: []string{"d", "e"}, Exported: true,
		ExtendedKeyUsages: []EKU{{Name: "N", OID: "1.2"}}, NotAfter: time.Unix(1e9, 5), CreatedAt: time.Unix(-1, 0)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeSummary(b)
		if err != nil {
			return
		}
		if again := encodeSummary(c); !bytes.Equal(again, b) {
			t.Errorf("decodeSummary(%x) re-encodes as %x", b, again)
		}
	})
}
