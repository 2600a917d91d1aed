package localstore

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestPEMTextJSON(t *testing.T) {
	pemData := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	for _, c := range []struct {
		name string
		in   PEMText
		want string // the JSON MarshalJSON writes
	}{
		{"PEM text", PEMText(pemData), `"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"`},
		{"not PEM", PEMText("\x00\x01binary"), `"AAFiaW5hcnk="`},
		{"PEM prefix, not UTF-8", PEMText("-----BEGIN \xff"), `"LS0tLS1CRUdJTiD/"`},
		{"empty", PEMText{}, `""`},
		{"nil", nil, `null`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(c.in)
			if err != nil || string(got) != c.want {
				t.Fatalf("Marshal: %s, %v; want %s", got, err, c.want)
			}
			var back PEMText
			if err := json.Unmarshal(got, &back); err != nil || !bytes.Equal(back, c.in) || (back == nil) != (c.in == nil) {
				t.Fatalf("Unmarshal(%s) = %q, %v; want %q", got, back, err, c.in)
			}
		})
	}
	// What encoding/json wrote for a []byte (every record before schema
	// 15) reads as the same bytes.
	earlier, _ := json.Marshal([]byte(pemData))
	var p PEMText
	if err := json.Unmarshal(earlier, &p); err != nil || string(p) != pemData {
		t.Errorf("Unmarshal(%s) = %q, %v", earlier, p, err)
	}
	// Neither PEM text nor base64, or not a string: an error, not data.
	for _, bad := range []string{`"!!"`, `"MIIB*"`, `42`, `{}`} {
		if err := json.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
	// A record's field: omitempty still leaves out an empty chain.
	rec, err := json.Marshal(CertificateVersion{CertificatePEM: PEMText(pemData)})
	if err != nil || strings.Contains(string(rec), "chainPem") || !strings.Contains(string(rec), `"certificatePem":"-----BEGIN`) {
		t.Errorf("record: %s, %v", rec, err)
	}
}

// FuzzPEMText: whatever bytes a record holds come back unchanged from its
// JSON, and no input makes UnmarshalJSON panic.
func FuzzPEMText(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----\xff"))
	f.Add([]byte(""))
	f.Add([]byte(`"-----BEGIN X-----\n"`))
	f.Add([]byte(`"LS0t"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := json.Marshal(PEMText(b))
		if err != nil {
			t.Fatalf("Marshal(%q): %v", b, err)
		}
		var back PEMText
		if err := json.Unmarshal(j, &back); err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of %q through %s: %q, %v", b, j, back, err)
		}
		var any PEMText
		_ = json.Unmarshal(b, &any) // arbitrary input: an error or data, never a panic
	})
}
