package authority

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestEveryIssuanceIsRecorded: a CSR signed with a template, a leaf of the
// inventory, a subordinate CA and a root's own certificate are each kept
// with their CA, template and requester, in the transaction that signed
// them, and GetIssued returns the very certificate.
func TestEveryIssuanceIsRecorded(t *testing.T) {
	s := newTestService(t, newClock())
	root := createCA(t, s, CreateRequest{Type: TypeRoot, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: "Rec Root"}, Requester: "USER:admin@h"})
	sub := createCA(t, s, CreateRequest{Type: TypeSubordinate, KeyAlgorithm: x509util.ECPrime256v1,
		Subject: Subject{CommonName: "Rec Sub"}, ParentID: root.ID, Requester: "USER:admin@h"})
	csrCert, err := issueCSR(t, s, root, csrPEM(t, ecKey(t), "csr.test", false), casign.TemplateEndEntity)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := issueLeaf(t, s, root, "cert-1", "leaf.test")
	if err != nil {
		t.Fatal(err)
	}
	subCert, err := sub.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, err := root.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	err = s.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		for _, tc := range []struct {
			name                string
			der                 []byte
			template, requester string
		}{
			{"ca issue", csrCert.Certificate.Raw, TemplateNameEndEntity, "USER:test"},
			{"leaf", leaf.Certificate.Raw, TemplateNameEndEntity, ""},
			{"subordinate", subCert.Raw, "", "USER:admin@h"},
			{"root", rootCert.Raw, TemplateNameRootCA, "USER:admin@h"},
		} {
			c, _ := x509.ParseCertificate(tc.der)
			got, err := GetIssued(tx, root, x509util.FormatSerial(c.SerialNumber))
			if err != nil {
				t.Errorf("%s: GetIssued: %v", tc.name, err)
				continue
			}
			if !bytes.Equal(got.Certificate.Raw, tc.der) || got.Template != tc.template || got.Requester != tc.requester ||
				got.Subject != x509util.FormatName(c.Subject) || !got.NotAfter.Equal(c.NotAfter) {
				t.Errorf("%s: recorded %+v", tc.name, got.Serial)
			}
		}
		list, err := tx.ListIssued(root.ID)
		if err != nil {
			return err
		}
		if len(list) != 4 {
			t.Errorf("root issued %d certificates, want 4", len(list))
		}
		_, err = GetIssued(tx, root, "01:02:03")
		if errs.ExitCodeOf(err) != errs.ExitNotFound {
			t.Errorf("unknown serial: %v, want exit 3", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
