package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeployHookSeesNoSecret(t *testing.T) {
	t.Setenv("CERTCTL_VAULT_PASSPHRASE", "pw-hook-test")
	t.Setenv("CERTCTL_STORE", "postgres://u:store-secret@h/db")
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	tg := Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"), Exec: "env > " + out}
	if err := RunHook(context.Background(), tg, "arn:certctl:acm:local:000000000000:certificate/x", nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if strings.Contains(s, "pw-hook-test") || strings.Contains(s, "store-secret") {
		t.Fatalf("the deploy hook saw a secret:\n%s", s)
	}
	if !strings.Contains(s, "CERTCTL_CERTIFICATE_ARN=arn:certctl:acm:local:000000000000:certificate/x") ||
		!strings.Contains(s, "CERTCTL_CERT_FILE="+tg.CertFile) {
		t.Fatalf("the deploy hook lacks its documented variables:\n%s", s)
	}
}
