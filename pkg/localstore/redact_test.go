package localstore

import (
	"context"
	"errors"
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
		// libpq's key=value form.
		"host=127.0.0.1 password=secret":                      "host=127.0.0.1 password=xxxxx",
		"host=h PASSWORD = secret dbname=d":                   "host=h PASSWORD = xxxxx dbname=d",
		"host=h password='se cret' user=u sslpassword=secret": "host=h password=xxxxx user=u sslpassword=xxxxx",
		"password=secret":                                     "password=xxxxx",
		" postgres://u:secret@h/db":                           " postgres://xxxxx",
		"postgres://h/db?sslmode=disable;password=secret":     "postgres://h/db?sslmode=disable;password=xxxxx",
		"postgres://h/db?password=secret;":                    "postgres://h/db?password=xxxxx",
		"postgres://h/db?password=a;secret":                   "postgres://h/db?password=xxxxx",
		"postgres://h/db?password=secret;x&sslmode=disable":   "postgres://h/db?password=xxxxx&sslmode=disable",
		"host=db password=se/cr3t://x":                        "host=db password=xxxxx",
		"host=db password=pa55://word":                        "host=db password=xxxxx",
		`host=db password=ab\ secret user=u`:                  "host=db password=xxxxx user=u",
	} {
		got := RedactURL(in)
		if got != want || strings.Contains(got, "secret") || strings.Contains(got, "se%2Fcret") {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"postgres://u:secret@h/db", "host=h password='se cret'", "password=secret", "sqlite:/x",
		"password=sekr1t", "host=h password=sekr1t://x", "host=h password=sekr1t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := RedactURL(s)
		// A password word of a key=value string is never shown.
		if !urlScheme().MatchString(s) && (strings.HasPrefix(s, "password=sekr1t") || strings.Contains(s, " password=sekr1t")) &&
			strings.Contains(got, "sekr1t") && strings.Count(s, "sekr1t") == 1 {
			t.Fatalf("RedactURL(%q) = %q shows the password", s, got)
		}
	})
}

// TestOpenPostgresRawAtInPassword: a store URL whose password holds a raw
// '@' is refused before any connection, and no part of the password is
// in the error (pgx would take its tail for the host and print it).
func TestOpenPostgresRawAtInPassword(t *testing.T) {
	_, err := OpenPostgres(context.Background(), "postgres://certctl:Zq9Secret@TailPW@127.0.0.1:5432/db?sslmode=disable")
	if !errors.Is(err, ErrUnsupportedStore) || !strings.Contains(err.Error(), "%40") {
		t.Fatalf("raw '@' in the password: %v, want a refusal naming %%40", err)
	}
	if strings.Contains(err.Error(), "Secret") || strings.Contains(err.Error(), "TailPW") {
		t.Fatalf("the error holds part of the password: %v", err)
	}
	if err := CheckUserinfo("postgres://certctl:Zq9Secret%40TailPW@127.0.0.1:5432/db"); err != nil {
		t.Fatalf("a percent-encoded '@' refused: %v", err)
	}
}

// TestWithoutPassword: the store URL a hook is given holds no password —
// in its user information or its query, a ';' in the password included
// (review: the tail after a ';' was left) — and the rest of the URL.
func TestWithoutPassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h/db?sslmode=disable":             "postgres://u@h/db?sslmode=disable",
		"postgres://h/db?password=secret&sslmode=disable":      "postgres://h/db?sslmode=disable",
		"postgres://h/db?password=a;secret":                    "postgres://h/db?",
		"postgres://h/db?password=secret;x&sslmode=disable":    "postgres://h/db?&sslmode=disable",
		"postgres://h/db?sslmode=disable;sslpassword=a;secret": "postgres://h/db?sslmode=disable",
		"host=db password=secret dbname=d":                     "host=db dbname=d",
	} {
		got := WithoutPassword(in)
		if got != want || strings.Contains(got, "secret") {
			t.Errorf("WithoutPassword(%q) = %q, want %q", in, got, want)
		}
	}
}
