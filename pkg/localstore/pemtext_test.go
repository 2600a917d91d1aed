package localstore

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPEMTextJSON(t *testing.T) {
	pemData := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	for _, c := range []struct {
		name string
		in   PEMText
		want string // the JSON encoding/json writes
	}{
		{"PEM text", PEMText(pemData), `"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"`},
		{"not PEM", PEMText("\x00\x01binary"), `"AAFiaW5hcnk="`},
		{"PEM prefix, not UTF-8", PEMText("-----BEGIN \xff"), `"LS0tLS1CRUdJTiD/"`},
		{"empty", PEMText{}, `""`},
		{"nil", nil, `""`}, // read back as empty: a record's PEM fields are never nil
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(c.in)
			if err != nil || string(got) != c.want {
				t.Fatalf("Marshal: %s, %v; want %s", got, err, c.want)
			}
			var back PEMText
			if err := json.Unmarshal(got, &back); err != nil || !bytes.Equal(back, c.in) {
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

// TestPEMTextJSONUnchanged: the text marshaler writes the JSON the JSON
// marshaler of earlier releases wrote (a JSON string of the text for PEM
// text, else the base64 encoding/json writes for a []byte), inside a
// record too.
func TestPEMTextJSONUnchanged(t *testing.T) {
	chain := "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJ<>&\u2028\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	earlier := func(p []byte) []byte {
		var b []byte
		if bytes.HasPrefix(p, []byte("-----")) && utf8.Valid(p) {
			b, _ = json.Marshal(string(p))
		} else {
			b, _ = json.Marshal(p)
		}
		return b
	}
	for _, in := range []string{chain, "-----", "-----\xff\xfe", "\x00binary", "MIIB", "", "-----\"quoted\" \t\r\x01"} {
		got, err := json.Marshal(PEMText(in))
		if want := earlier([]byte(in)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Marshal(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	v := CertificateVersion{Number: 2, Serial: "0a", CertificatePEM: PEMText(chain), ChainPEM: PEMText(chain), KeyRef: "k"}
	rec, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `"certificatePem":` + string(earlier([]byte(chain))) + `,"chainPem":` + string(earlier([]byte(chain)))
	if !strings.Contains(string(rec), want) {
		t.Errorf("record %s\nlacks %s", rec, want)
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
