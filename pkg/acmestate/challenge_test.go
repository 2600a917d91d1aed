package acmestate

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// challengedOrder stores a pending order with one pending authorization,
// offering every challenge type, per name.
func challengedOrder(t *testing.T, v *localstore.Vault, names ...string) *Order {
	t.Helper()
	o := &Order{ID: "order-1", EndpointID: "ep", AccountID: "acct", Status: AcmePending, Expires: t0.Add(time.Hour), UpdatedAt: t0}
	update(t, v, func(tx localstore.Tx) error {
		for i, n := range names {
			a := &Authz{ID: "authz-" + string(rune('a'+i)), EndpointID: "ep", AccountID: "acct", Identifier: Identifier{Type: "dns", Value: n},
				Expires: o.Expires, OrderID: o.ID, UpdatedAt: t0}
			if err := OfferChallenges(a, ChallengeTypes, t0); err != nil {
				return err
			}
			if err := PutAuthz(tx, a); err != nil {
				return err
			}
			o.Identifiers = append(o.Identifiers, a.Identifier)
			o.Authorizations = append(o.Authorizations, a.ID)
		}
		return PutOrder(tx, o)
	})
	return o
}

func claimAndRecord(t *testing.T, v *localstore.Vault, id, typ string, fail *Problem, at time.Time) (*Authz, *Order) {
	t.Helper()
	var a *Authz
	var o *Order
	update(t, v, func(tx localstore.Tx) error {
		if _, err := ClaimChallenge(tx, id, typ, at); err != nil {
			return err
		}
		var err error
		a, o, err = RecordChallenge(tx, id, typ, fail, at)
		return err
	})
	return a, o
}

func TestChallengesSettleTheOrder(t *testing.T) {
	v := openVault(t)
	challengedOrder(t, v, "a.test", "b.test")
	var a *Authz
	view(t, v, func(tx localstore.Tx) (err error) { a, err = GetAuthz(tx, "authz-a"); return err })
	if a.Status != AcmePending || len(a.Challenges) != 3 || a.Challenges[0].Token == a.Challenges[1].Token {
		t.Fatalf("offered %+v", a)
	}
	a, o := claimAndRecord(t, v, "authz-a", "http-01", nil, t0.Add(time.Minute))
	if a.Status != AcmeValid || !a.ProvedByChallenge() || a.Challenge("http-01").Validated.IsZero() || o.Status != AcmePending {
		t.Fatalf("after one of two: authz %s, order %s; want valid, pending", a.Status, o.Status)
	}
	// A valid challenge is not taken up again, nor another of a valid authorization.
	update(t, v, func(tx localstore.Tx) error {
		for _, typ := range []string{"http-01", "dns-01"} {
			if _, err := ClaimChallenge(tx, "authz-a", typ, t0.Add(2*time.Minute)); !errors.Is(err, ErrNotClaimed) {
				t.Errorf("claim %s of a valid authorization: %v", typ, err)
			}
		}
		return nil
	})
	_, o = claimAndRecord(t, v, "authz-b", "dns-01", nil, t0.Add(3*time.Minute))
	if o.Status != AcmeReady {
		t.Fatalf("after both: order %s, want ready", o.Status)
	}
}

func TestFailedChallengeInvalidatesOrder(t *testing.T) {
	v := openVault(t)
	challengedOrder(t, v, "a.test", "b.test")
	fail := &Problem{Type: "urn:ietf:params:acme:error:caa", Detail: "no", Status: 403}
	a, o := claimAndRecord(t, v, "authz-b", "tls-alpn-01", fail, t0.Add(time.Minute))
	c := a.Challenge("tls-alpn-01")
	if c.Status != AcmeInvalid || c.Error == nil || c.Error.Type != fail.Type || a.Status != AcmeInvalid ||
		o.Status != AcmeInvalid || o.Error == nil || o.Error.Type != fail.Type {
		t.Fatalf("challenge %+v, authz %s, order %s %+v", c, a.Status, o.Status, o.Error)
	}
	// The other challenges of the invalid authorization stay unanswerable.
	update(t, v, func(tx localstore.Tx) error {
		if _, err := ClaimChallenge(tx, "authz-b", "http-01", t0.Add(2*time.Minute)); !errors.Is(err, ErrNotClaimed) {
			t.Errorf("claim on an invalid authorization: %v", err)
		}
		return nil
	})
}

func TestClaimLease(t *testing.T) {
	v := openVault(t)
	challengedOrder(t, v, "a.test")
	update(t, v, func(tx localstore.Tx) error {
		if _, err := ClaimChallenge(tx, "authz-a", "http-01", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := ClaimChallenge(tx, "authz-a", "http-01", t0.Add(ValidationLease-time.Second)); !errors.Is(err, ErrNotClaimed) {
			t.Errorf("claimed again within the lease: %v", err)
		}
		if _, err := ClaimChallenge(tx, "authz-a", "http-01", t0.Add(ValidationLease)); err != nil {
			t.Errorf("not claimed after the lease: %v", err)
		}
		if _, err := ClaimChallenge(tx, "authz-a", "dns-01", t0.Add(ValidationLease+time.Second)); !errors.Is(err, ErrNotClaimed) {
			t.Errorf("claimed dns-01 while http-01 is being validated: %v", err)
		}
		if _, err := ClaimChallenge(tx, "authz-a", "no-such-01", t0); !errors.Is(err, ErrNotClaimed) {
			t.Errorf("claim of a type not offered: %v", err)
		}
		// Recording the outcome of a challenge nobody took up changes nothing.
		if _, _, err := RecordChallenge(tx, "authz-a", "dns-01", nil, t0); !errors.Is(err, ErrNotClaimed) {
			t.Errorf("record without a claim: %v", err)
		}
		return nil
	})
}

func TestChallengesFor(t *testing.T) {
	e := &Endpoint{}
	if err := e.SetAuthorization(BehaviorChallenge, []string{"tls-alpn-01", "http-01", "http-01"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.ChallengeTypes, []string{"http-01", "tls-alpn-01"}) {
		t.Errorf("types %v", e.ChallengeTypes)
	}
	if got := e.ChallengesFor("w.test", true); got != nil {
		t.Errorf("wildcard without dns-01: %v", got)
	}
	if err := e.SetAuthorization(BehaviorChallenge, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.ChallengesFor("w.test", true); !slices.Equal(got, []string{"dns-01"}) {
		t.Errorf("wildcard: %v", got)
	}
	if got := e.ChallengesFor("w.test", false); !slices.Equal(got, ChallengeTypes) {
		t.Errorf("name: %v", got)
	}
	// A name whose _acme-challenge record would pass 253 octets: no
	// dns-01, so a wildcard gets nothing.
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 41) + ".test"
	if got := e.ChallengesFor(long, false); slices.Contains(got, "dns-01") || len(got) != len(ChallengeTypes)-1 {
		t.Errorf("name of %d octets: %v, want every type but dns-01", len(long), got)
	}
	if got := e.ChallengesFor(long, true); got != nil {
		t.Errorf("wildcard of %d octets: %v, want none", len(long), got)
	}
	if err := e.SetAuthorization(BehaviorPreApproved, []string{"dns-01"}); err == nil {
		t.Error("PRE_APPROVED took challenge types")
	}
	if err := e.SetAuthorization(BehaviorPreApproved, nil); err != nil || e.ChallengeTypes != nil || e.ChallengesFor("x.test", false) != nil {
		t.Errorf("PRE_APPROVED: %v %v", err, e.ChallengeTypes)
	}
}
