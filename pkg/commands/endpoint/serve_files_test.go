package endpoint

import (
	"context"
	"slices"
	"testing"
)

// TestServingCertificateFiles: the files looked at for a reload are those
// --tls-cert/--tls-key name, in the file:// and fileb:// forms too
// (review: the stamps of "file:///…" never changed); stdin is none.
func TestServingCertificateFiles(t *testing.T) {
	for _, tc := range []struct {
		cert, key string
		want      []string
	}{
		{"/etc/c.pem", "/etc/k.pem", []string{"/etc/c.pem", "/etc/k.pem"}},
		{"file:///etc/c.pem", "fileb:///etc/k.pem", []string{"/etc/c.pem", "/etc/k.pem"}},
		{"-", "/etc/k.pem", nil},
	} {
		c := servingCertificate(context.Background(), &ServeOptions{TLSCert: tc.cert, TLSKey: tc.key}, nil, "")
		if !slices.Equal(c.Files, tc.want) {
			t.Errorf("%s, %s: files %q, want %q", tc.cert, tc.key, c.Files, tc.want)
		}
	}
}
