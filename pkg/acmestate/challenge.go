package acmestate

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// Problem is an RFC 7807 problem document as stored with a challenge or an
// order (the server answers with the same fields).
type Problem struct {
	Type   string `json:"type"`
	Detail string `json:"detail,omitempty"`
	Status int    `json:"status,omitempty"`
}

// Challenge is one challenge of an authorization of a CHALLENGE endpoint
// (RFC 8555 section 7.1.5). Its state lives in the store, so that any
// server of a cluster answers for it and only one validates it.
type Challenge struct {
	Type      string    `json:"type"`
	Status    string    `json:"status"`
	Token     string    `json:"token"`
	Validated time.Time `json:"validated,omitzero"`
	Error     *Problem  `json:"error,omitempty"`
	// UpdatedAt is when Status last changed: a challenge processing for
	// longer than ValidationLease lost its validator (a server that
	// stopped) and may be taken up again.
	UpdatedAt time.Time `json:"updatedAt"`
}

// ValidationLease is how long a server may take to validate a challenge it
// took up before another may take it up again.
const ValidationLease = 2 * time.Minute

// NewToken returns a challenge token: 256 random bits, base64url (RFC
// 8555 section 8.1 asks for at least 128).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// OfferChallenges makes a a pending authorization with one pending
// challenge of each type, each with its own token.
func OfferChallenges(a *Authz, types []string, now time.Time) error {
	a.Status, a.ValidAt, a.Challenges = AcmePending, time.Time{}, nil
	for _, t := range types {
		tok, err := NewToken()
		if err != nil {
			return err
		}
		a.Challenges = append(a.Challenges, Challenge{Type: t, Status: AcmePending, Token: tok, UpdatedAt: now})
	}
	return nil
}

// Challenge returns the challenge of type typ of a (nil when none).
func (a *Authz) Challenge(typ string) *Challenge {
	for i := range a.Challenges {
		if a.Challenges[i].Type == typ {
			return &a.Challenges[i]
		}
	}
	return nil
}

// ProvedByChallenge reports whether a is valid by one of its challenges
// (rather than by pre-approval).
func (a *Authz) ProvedByChallenge() bool {
	if a.Status != AcmeValid {
		return false
	}
	for _, c := range a.Challenges {
		if c.Status == AcmeValid {
			return true
		}
	}
	return false
}

// ErrNotClaimed is returned by ClaimChallenge when the challenge may not
// be validated now: it is not pending (or processing past its lease), or
// its authorization is no longer pending.
var ErrNotClaimed = errors.New("challenge not taken up")

// ClaimChallenge takes up the challenge typ of authorization id for
// validation at now (RFC 8555 section 7.5.1): pending, or processing past
// ValidationLease, becomes processing — unless another challenge of the
// authorization is being validated. It returns the authorization as
// stored; ErrNotClaimed (with the authorization) when the challenge may
// not be validated now.
func ClaimChallenge(tx localstore.Tx, id, typ string, now time.Time) (*Authz, error) {
	a, err := GetAuthz(tx, id)
	if err != nil {
		return nil, err
	}
	c := a.Challenge(typ)
	if c == nil || a.Status != AcmePending || !now.Before(a.Expires) {
		return a, ErrNotClaimed
	}
	stale := c.Status == AcmeProcessing && !now.Before(c.UpdatedAt.Add(ValidationLease))
	if c.Status != AcmePending && !stale {
		return a, ErrNotClaimed
	}
	// One challenge of an authorization at a time: the first outcome
	// decides the authorization.
	for i := range a.Challenges {
		o := &a.Challenges[i]
		if o != c && o.Status == AcmeProcessing && now.Before(o.UpdatedAt.Add(ValidationLease)) {
			return a, ErrNotClaimed
		}
	}
	c.Status, c.UpdatedAt, a.UpdatedAt = AcmeProcessing, now, now
	return a, PutAuthz(tx, a)
}

// RecordChallenge stores the outcome of validating the challenge typ of
// authorization id, if it is still processing: valid makes the
// authorization valid (and its order ready once all its authorizations
// are); a failure (fail not nil) makes the challenge, the authorization
// and its order invalid, the problem in the challenge's and the order's
// error (RFC 8555 sections 7.1.6 and 8.2). It returns the authorization
// and its order as stored (the order nil when it is gone), and
// ErrNotClaimed when the challenge was no longer processing.
func RecordChallenge(tx localstore.Tx, id, typ string, fail *Problem, now time.Time) (*Authz, *Order, error) {
	a, err := GetAuthz(tx, id)
	if err != nil {
		return nil, nil, err
	}
	c := a.Challenge(typ)
	if c == nil || c.Status != AcmeProcessing || a.Status != AcmePending {
		return a, nil, ErrNotClaimed
	}
	c.UpdatedAt, a.UpdatedAt = now, now
	if fail != nil {
		c.Status, c.Error, a.Status = AcmeInvalid, fail, AcmeInvalid
	} else {
		c.Status, c.Validated, a.Status, a.ValidAt = AcmeValid, now, AcmeValid, now
	}
	if err := PutAuthz(tx, a); err != nil {
		return nil, nil, err
	}
	o, err := settleOrder(tx, a, fail, now)
	return a, o, err
}

// settleOrder moves the pending order of authorization a on after a's
// challenge was validated: invalid with fail, or ready once every
// authorization of it is valid.
func settleOrder(tx localstore.Tx, a *Authz, fail *Problem, now time.Time) (*Order, error) {
	if a.OrderID == "" {
		return nil, nil
	}
	o, err := GetOrder(tx, a.OrderID)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil || o.Status != AcmePending {
		return o, err
	}
	if fail != nil {
		o.Status, o.Error = AcmeInvalid, fail
	} else {
		for _, id := range o.Authorizations {
			if id == a.ID {
				continue
			}
			other, err := GetAuthz(tx, id)
			if errors.Is(err, localstore.ErrNotFound) {
				return o, nil // authzLapsed answers for it
			}
			if err != nil {
				return nil, err
			}
			if other.Status != AcmeValid {
				return o, nil
			}
		}
		o.Status = AcmeReady
	}
	o.UpdatedAt = now
	return o, PutOrder(tx, o)
}
