package acmestate

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestCachedRecordsAreCurrentAndPrivate checks the decoded endpoint and
// account cache: a record another process (a second vault handle on the
// same directory) changes is read as changed at once, and no caller gets
// a value another can modify.
func TestCachedRecordsAreCurrentAndPrivate(t *testing.T) {
	dir := t.TempDir()
	open := func() *localstore.Vault {
		v, err := localstore.Open(context.Background(), dir, localstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	}
	v1, v2 := open(), open()
	e := newEndpoint(t, v1, CreateParams{Tags: []localstore.Tag{{Key: "k", Value: "v"}}})
	a := &Account{ID: "acct-1", EndpointID: e.ID, Status: AcmeValid, Contact: []string{"mailto:a@b.test"},
		JWK: []byte(`{"kty":"EC"}`), CreatedAt: t0, UpdatedAt: t0}
	update(t, v1, func(tx localstore.Tx) error { return PutAccount(tx, a) })

	get := func(v *localstore.Vault) (ge *Endpoint, ga *Account) {
		view(t, v, func(tx localstore.Tx) error {
			var err error
			if ge, err = Get(tx, e.ID); err != nil {
				return err
			}
			ga, err = GetAccount(tx, a.ID)
			return err
		})
		return ge, ga
	}
	e1, a1 := get(v1)
	if !reflect.DeepEqual(e1, e) || !reflect.DeepEqual(a1, a) {
		t.Fatalf("read %+v %+v, want %+v %+v", e1, a1, e, a)
	}
	// A caller modifying what it read, decoded or cached, changes nothing
	// another reads.
	for range 2 {
		e1.AllowedKeyAlgorithms[0], e1.Tags[0].Value, e1.Status = "x", "x", "x"
		a1.Contact[0], a1.JWK[0], a1.Status = "x", 'x', "x"
		if e1, a1 = get(v1); !reflect.DeepEqual(e1, e) || !reflect.DeepEqual(a1, a) {
			t.Fatalf("after a caller modified its copy: read %+v %+v, want %+v %+v", e1, a1, e, a)
		}
	}
	// Another process deactivates the account and narrows the endpoint.
	update(t, v2, func(tx localstore.Tx) error {
		e2, err := Get(tx, e.ID)
		if err != nil {
			return err
		}
		e2.AllowedKeyAlgorithms, e2.UpdatedAt = []string{KeyAlgorithms[0]}, t0.Add(time.Second)
		if err := Put(tx, e2); err != nil {
			return err
		}
		a2, err := GetAccount(tx, a.ID)
		if err != nil {
			return err
		}
		_, err = DeactivateAccount(tx, a2, t0.Add(time.Second))
		return err
	})
	e3, a3 := get(v1)
	if a3.Status != AcmeDeactivated || !reflect.DeepEqual(e3.AllowedKeyAlgorithms, []string{KeyAlgorithms[0]}) {
		t.Fatalf("after another process changed them: account %s, endpoint algorithms %v", a3.Status, e3.AllowedKeyAlgorithms)
	}
}

// TestCloneIsDeep checks that cloneEndpoint and cloneAccount copy every
// field and share no memory with the original, so that a field added
// later with a slice, map or pointer type fails here until cloned.
func TestCloneIsDeep(t *testing.T) {
	check := func(orig, clone any) {
		t.Helper()
		if !reflect.DeepEqual(orig, clone) {
			t.Fatalf("clone %+v differs from %+v", clone, orig)
		}
		ov, cv := reflect.ValueOf(orig).Elem(), reflect.ValueOf(clone).Elem()
		for i := range ov.NumField() {
			f, o, c := ov.Type().Field(i), ov.Field(i), cv.Field(i)
			switch o.Kind() {
			case reflect.Slice, reflect.Map, reflect.Pointer:
				if o.IsNil() {
					t.Fatalf("fixture leaves %s nil", f.Name)
				}
				if o.UnsafePointer() == c.UnsafePointer() {
					t.Fatalf("clone shares %s", f.Name)
				}
			case reflect.Struct:
				if f.Type != reflect.TypeFor[time.Time]() {
					t.Fatalf("field %s: a struct the check does not know", f.Name)
				}
			case reflect.String, reflect.Bool, reflect.Int:
			default:
				t.Fatalf("field %s: kind %s the check does not know", f.Name, o.Kind())
			}
			if o.IsZero() {
				t.Fatalf("fixture leaves %s zero", f.Name)
			}
		}
	}
	e := &Endpoint{ID: "e", Name: "n", Status: StatusActive, AuthorizationBehavior: BehaviorChallenge, Contact: ContactRequired,
		AllowedKeyAlgorithms: []string{"a"}, ChallengeTypes: []string{"c"}, CertificateTags: []localstore.Tag{{Key: "k"}},
		Tags: []localstore.Tag{{Key: "t"}}, CreatedAt: t0, UpdatedAt: t0, FailureReason: "f", CertificateAuthorityID: "ca",
		DefaultProfile: "p"}
	check(e, cloneEndpoint(e))
	a := &Account{ID: "a", EndpointID: "e", Status: AcmeValid, Contact: []string{"mailto:a@b.test"}, JWK: []byte("{}"),
		Thumbprint: "tp", EABKeyID: "k", CreatedAt: t0, UpdatedAt: t0}
	check(a, cloneAccount(a))
}
