package acmeserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decodeExactReflect is the reflection-based decodeExact decodeExact
// replaced (a map of raw members, then json.Unmarshal per field): the
// reference the one-pass decoder must agree with.
func decodeExactReflect(data []byte, v any) error {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("not a JSON object")
	}
	rv := reflect.ValueOf(v).Elem()
	tags := map[string]int{}
	for i := range rv.NumField() {
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		if name != "-" { // not a member (HasNonce)
			tags[name] = i
		}
	}
	for k, val := range m {
		i, ok := tags[k]
		if !ok {
			for t := range tags {
				if strings.EqualFold(t, k) {
					return caseError(k)
				}
			}
			continue
		}
		if err := json.Unmarshal(val, rv.Field(i).Addr().Interface()); err != nil {
			return err
		}
		if h, ok := v.(*protectedHeader); ok && k == "nonce" {
			h.HasNonce = true
		}
	}
	return nil
}

// agreeExact fails t unless decodeExact and the reference decode data
// alike into both structs: the same fields, and an error where it errs.
// The reference visits members in map order, so with both a member
// differing in case only and a bad value it may report either; decodeExact
// always reports the case.
func agreeExact(t *testing.T, data []byte) {
	t.Helper()
	for _, mk := range []func() (exactObject, any){
		func() (exactObject, any) { return &flattenedJWS{}, &flattenedJWS{} },
		func() (exactObject, any) { return &protectedHeader{}, &protectedHeader{} },
	} {
		got, want := mk()
		gerr, werr := decodeExact(data, got), decodeExactReflect(data, want)
		var gc, wc caseError
		gCase, wCase := errors.As(gerr, &gc), errors.As(werr, &wc)
		switch {
		case (gerr == nil) != (werr == nil):
			t.Fatalf("%q into %T: error %v, reference %v", data, got, gerr, werr)
		case wCase && !gCase, gerr != nil && !gCase && wCase:
			t.Fatalf("%q into %T: error %v, reference %v", data, got, gerr, werr)
		case gerr == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("%q: decoded %+v, reference %+v", data, got, want)
		}
	}
}

// TestDecodeExactAgrees checks the one-pass decodeExact against the
// reflection-based one on the edge cases of JSON objects: duplicates,
// null, escapes, case variants, wrong types, trailing data, bad syntax.
func TestDecodeExactAgrees(t *testing.T) {
	for _, s := range []string{
		`{"protected":"p","payload":"","signature":"s"}`,
		` {"protected" : "p" , "payload":null,"signature":"s"} trailing`,
		`{"protected":"p","payload":"x","payload":null}`,
		`{"protected":"p","protected":null}`,
		`{"protected":"p","protected":5}`,
		`{"protected":5,"protected":"p"}`,
		`{"protected":"\u0070\n\"","payl\u006fad":"é\ud800"}`,
		`{"prot` + "\xff" + `ected":"p","signature":"` + "\xfe" + `"}`,
		`{"header":null}`, `{"header":{"kid":"x"}}`, `{"signatures":[ 1, {"a":[]} ]}`,
		`{"Header":{}}`, `{"PROTECTED":"p"}`, `{"protected":"p","Kid":"k"}`,
		`{"alg":"ES256","nonce":"n","url":"u","kid":"k","jwk":{"kty":"EC"}}`, `{"alg":"ES256","nonce":""}`, `{"-":true}`,
		`{"alg":"ES256","KID":"k"}`, `{"alg":"ES256","ſignature":"k"}`, `{"alg":"ES256","Url":1}`,
		`{"jwk":null}`, `{"jwk": "x" }`, `{"alg":true}`, `{"alg":{}}`, `{"alg":[]}`, `{"nonce":-1.5e3}`,
		`{}`, ` {} `, `null`, ` null`, `[]`, `"x"`, `1`, ``, ` `, `{`, `{"a"`, `{"a":}`, `{"a":1,}`,
		`{"a":1}}`, `{"a":1}{"b":2}`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":01}`, `{"a":tru}`, `{'a':1}`,
		`{"a":[1,2}`, `{"a":"}"}`, `{"a\"}":1,"alg":"x"}`, `{"alg":"a\\"}`, `{"alg":"a\\\""}`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
	} {
		agreeExact(t, []byte(s))
	}
}

func FuzzDecodeExact(f *testing.F) {
	f.Add([]byte(`{"protected":"p","payload":"","signature":"s","header":null}`))
	f.Add([]byte(`{"alg":"ES256","nonce":"n","url":"u","Kid":"k","jwk":{"kty":"EC"}}`))
	f.Add([]byte(`{"alg":"\u0045S256","alg":null,"url":1} x`))
	f.Fuzz(func(t *testing.T, b []byte) { agreeExact(t, b) })
}

// BenchmarkDecodeExact decodes a typical outer JWS and protected header.
func BenchmarkDecodeExact(b *testing.B) {
	outer := []byte(`{"protected":"eyJhbGciOiJFUzI1NiIsImtpZCI6Imh0dHBzOi8vMTI3LjAuMC4xOjQ0My9hY2N0LzEiLCJub25jZSI6Im4iLCJ1cmwiOiJodHRwczovLzEyNy4wLjAuMTo0NDMvb3JkZXIvMSJ9","payload":"","signature":"MEUCIQDxNZ0oVUvAMYwJx7hjH7g8mHGn9r3C3Vq1bJmQ0KqVdgIgQ6v9QyFq9F8u5d3M3n3C"}`)
	prot := []byte(`{"alg":"ES256","kid":"https://127.0.0.1:443/4d719d42-3b90-4eb9-83f6-5f63dbb9ffe9/acct/0f3c1f0e-6a55-4a4e-8f0a-9f4b8bd2d0a1","nonce":"AAAAAZOxMj2fKGqK8_8f2c0-d1a4b3","url":"https://127.0.0.1:443/4d719d42-3b90-4eb9-83f6-5f63dbb9ffe9/order/1"}`)
	b.ReportAllocs()
	for b.Loop() {
		var f flattenedJWS
		var h protectedHeader
		if decodeExact(outer, &f) != nil || decodeExact(prot, &h) != nil {
			b.Fatal("decode failed")
		}
	}
}

// TestDecodeExactAllocs guards the one-pass decoder's allocations (the
// reflection-based decoder it replaced took 55 for this pair).
func TestDecodeExactAllocs(t *testing.T) {
	outer := []byte(`{"protected":"eyJhbGciOiJFUzI1NiJ9","payload":"","signature":"MEUCIQDxNZ0oVUvAMYwJx7hjH7g8mHGn9r3C3Vq1bJmQ0KqVdgIgQ6v9QyFq9F8u5d3M3n3C"}`)
	prot := []byte(`{"alg":"ES256","kid":"https://127.0.0.1:443/e/acct/a","nonce":"AAAAAZOxMj2fKGqK8_8f2c0-d1a4b3","url":"https://127.0.0.1:443/e/order/1"}`)
	n := testing.AllocsPerRun(100, func() {
		var f flattenedJWS
		var h protectedHeader
		if decodeExact(outer, &f) != nil || decodeExact(prot, &h) != nil {
			t.Fatal("decode failed")
		}
	})
	if n > 12 {
		t.Errorf("decodeExact of a JWS and its header: %v allocations, want at most 12", n)
	}
}
