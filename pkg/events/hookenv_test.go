package events

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHookSeesNoSecret(t *testing.T) {
	t.Setenv("CERTCTL_VAULT_PASSPHRASE", "pw-hook-test")
	t.Setenv("CERTCTL_STORE", "postgres://u:store-secret@h/db")
	out := filepath.Join(t.TempDir(), "env")
	Deliver(context.Background(), "env > "+out, []*Event{{DetailType: Available}}, io.Discard)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if strings.Contains(s, "pw-hook-test") || strings.Contains(s, "store-secret") {
		t.Fatalf("the event hook saw a secret:\n%s", s)
	}
	if !strings.Contains(s, "CERTCTL_EVENT_TYPE="+Available) {
		t.Fatalf("the event hook lacks CERTCTL_EVENT_TYPE:\n%s", s)
	}
}
