package localstore

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h/db?sslmode=disable":        "postgres://u:xxxxx@h/db?sslmode=disable",
		"postgres://u@h/db?password=secret&sslmode=allow": "postgres://u@h/db?password=xxxxx&sslmode=allow",
		"postgresql://h/db?PASSWORD=secret":               "postgresql://h/db?PASSWORD=xxxxx",
		"postgres://u:se%2Fcret@h:5432/db":                "postgres://u:xxxxx@h:5432/db",
		"sqlite:/var/lib/certctl/vault.db":                "sqlite:/var/lib/certctl/vault.db",
		"postgres://u:secret@h/db\x7f":                    "postgres://xxxxx",
	} {
		got := RedactURL(in)
		if got != want || strings.Contains(got, "secret") || strings.Contains(got, "se%2Fcret") {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
