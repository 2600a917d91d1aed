package audit

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// requestParams are the parameters of a private certificate request
// (certificates.recordRequest): nested maps and lists of strings.
func requestParams() map[string]any {
	return map[string]any{
		"DomainName":              "svc.example.test",
		"SubjectAlternativeNames": []string{"a.example.test"},
		"KeyAlgorithm":            "EC_prime256v1",
		"CertificateAuthorityArn": "default",
		"Options":                 map[string]any{"Export": "ENABLED", "CertificateTransparencyLoggingPreference": "DISABLED"},
		"IdempotencyTokenGiven":   false,
		"Tags":                    []map[string]any{{"Key": "env", "Value": "prod"}},
	}
}

// sameAsGeneric fails t unless Scrub(params) encodes to the JSON the
// round trip through JSON (scrubGeneric) gives, which is what the log
// stored before Scrub learnt to scrub nested values as they are.
func sameAsGeneric(t *testing.T, params map[string]any) {
	t.Helper()
	got, err1 := json.Marshal(Scrub(params))
	want, err2 := json.Marshal(scrubGeneric(params))
	if (err1 == nil) != (err2 == nil) || string(got) != string(want) {
		t.Errorf("Scrub(%#v) = %s (%v), the JSON round trip gives %s (%v)", params, got, err1, want, err2)
	}
}

// TestScrubKnownSameJSON: parameters with nested maps and lists are
// recorded as the JSON round trip records them, byte for byte, whether
// scrubKnown takes them or leaves them to the round trip — the values
// whose JSON the round trip changes (an integer beyond 2^53, invalid
// UTF-8) included.
func TestScrubKnownSameJSON(t *testing.T) {
	for _, p := range []map[string]any{
		requestParams(),
		{"Options": map[string]any{"Passphrase": "hunter2", "Nested": []any{map[string]any{"MacKey": "k", "KeyId": "kid"}, 1.5, nil, true}}},
		{"Options": map[string]any{}, "N": 1 << 53, "M": int64(-(1 << 53)), "F": 0.1, "Z": math.Copysign(0, -1)},
		{"Options": map[string]any{}, "Big": 1<<53 + 1},
		{"Options": map[string]any{}, "Big": int64(math.MaxInt64)},
		{"Options": map[string]any{"Bad": "a\xffb"}},
		{"Options": map[string]any{"bad\xff": "x"}},
		{"Options": map[string]any{}, "List": []string{"ok", "\xfe"}},
		{"Options": map[string]any{}, "Tags": []localstore.Tag{{Key: "password", Value: "<&>\u2028"}}},
		{"Options": map[string]any{}, "Tags": []localstore.Tag{{Key: "k", Value: "\xff"}}},
		{"Options": map[string]any(nil), "L": []any(nil), "T": []map[string]any{nil, {}}},
		{"Options": map[string]any{}, "Struct": struct{ A int }{1}, "Uint": uint(3)},
	} {
		sameAsGeneric(t, p)
	}
}

// TestScrubKnownCopies: the nested values are scrubbed in a copy; the
// caller's maps keep their secrets.
func TestScrubKnownCopies(t *testing.T) {
	in := map[string]any{"Options": map[string]any{"Passphrase": "hunter2"}, "Typed": []map[string]any{{"MacKey": "k"}}}
	b, _ := json.Marshal(Scrub(in))
	if want := `{"Options":{"Passphrase":"` + Redacted + `"},"Typed":[{"MacKey":"` + Redacted + `"}]}`; string(b) != want {
		t.Errorf("Scrub = %s, want %s", b, want)
	}
	if in["Options"].(map[string]any)["Passphrase"] != "hunter2" || in["Typed"].([]map[string]any)[0]["MacKey"] != "k" {
		t.Errorf("Scrub changed its input: %v", in)
	}
}

// TestScrubRequestAllocs: a request's parameters are scrubbed without
// their JSON round trip, which took 76 allocations (Go 1.26).
func TestScrubRequestAllocs(t *testing.T) {
	p := requestParams()
	if n := testing.AllocsPerRun(100, func() { Scrub(p) }); n > 12 {
		t.Errorf("Scrub of a request's parameters: %v allocations, want at most 12", n)
	}
}

// FuzzScrubKnown: on any strings and numbers, nested as a request nests
// them, Scrub records what the JSON round trip records.
func FuzzScrubKnown(f *testing.F) {
	f.Add("Passphrase", "hunter2", int64(1), 1.5)
	f.Add("Key", "a\xffb", int64(1<<53+1), math.Inf(1))
	f.Add("mac_key", "<\u2028>", int64(-1<<53), math.Copysign(0, -1))
	f.Fuzz(func(t *testing.T, name, value string, n int64, x float64) {
		sameAsGeneric(t, map[string]any{
			name: value,
			"Options": map[string]any{name: value, "N": n, "X": x,
				"List": []any{value, n, x, map[string]any{name: []string{value}}}},
			"Tags":  []map[string]any{{"Key": name, "Value": value}},
			"Typed": []localstore.Tag{{Key: name, Value: value}},
		})
	})
}

// TestScrubKeepsLargeIntegers: an integer beyond 2^53 is recorded exactly
// wherever it sits — flat, nested, or in a value only the JSON round trip
// can read (a struct) — not rounded through a float64 on one path and kept
// on another.
func TestScrubKeepsLargeIntegers(t *testing.T) {
	const big = "9223372036854775807"
	for _, p := range []map[string]any{
		{"Big": int64(math.MaxInt64)},
		{"Big": int64(math.MaxInt64), "Options": map[string]any{}},
		{"Options": map[string]any{"Big": int64(math.MaxInt64)}},
		{"Options": map[string]any{"List": []any{int64(math.MaxInt64)}}},
		{"Struct": struct{ Big int64 }{math.MaxInt64}},
		{"Options": map[string]any{"Big": uint64(math.MaxInt64)}},
	} {
		b, err := json.Marshal(Scrub(p))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), big) {
			t.Errorf("Scrub(%v) = %s: the integer is not kept exactly", p, b)
		}
	}
}
