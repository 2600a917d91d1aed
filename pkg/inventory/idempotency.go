package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// IdempotencyWindow is how long an idempotency token keeps returning the
// same certificate (ACM: one hour).
const IdempotencyWindow = time.Hour

const idempotencyKind = "idempotency"

type idempotencyRecord struct {
	ArgsHash  string    `json:"argsHash"`
	CertID    string    `json:"certId"`
	CreatedAt time.Time `json:"createdAt"`
	// Refused is the FailureReason the first request was refused with
	// (its certificate recorded FAILED at once), "" when it was not
	// refused; nil in a record written before it was kept.
	Refused *string `json:"refused,omitempty"`
}

// CodeIdempotencyConflict is the error code (the JSON error's Code) of an
// idempotency token used again within the hour with other arguments, by
// request and by ca create alike.
const CodeIdempotencyConflict = "IdempotencyConflict"

// MaxIdempotencyToken is the longest idempotency token taken: ACM's is
// 32 characters, AWS Private CA's 36; 64 leaves room for a script's
// own scheme (a job ID and a step).
const MaxIdempotencyToken = 64

// CheckIdempotencyToken checks a token given (exit 4): at most
// MaxIdempotencyToken characters, each printable ASCII other than a space,
// as the AWS APIs take them (tester: a token of 10,000 characters was
// taken, and went into the audit record as it was).
func CheckIdempotencyToken(token string) error {
	if len(token) > MaxIdempotencyToken {
		return errs.Invalidf("--idempotency-token is %d characters long: at most %d", len(token), MaxIdempotencyToken)
	}
	for _, r := range token {
		if r <= ' ' || r > '~' {
			return errs.Invalidf("--idempotency-token holds %q: printable ASCII characters only, no spaces", r)
		}
	}
	return nil
}

func hashHex(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// LookupIdempotent returns the certificate ID a token produced within the
// window for the same arguments ("" when none), and refused, the
// FailureReason the first request with the token was refused with ("" when
// it was not): a retry answers as the first request did, whatever became of
// the certificate since. The same token with other arguments is refused.
func LookupIdempotent(tx localstore.Tx, token string, args any, now time.Time) (certID, refused string, err error) {
	if token == "" {
		return "", "", nil
	}
	o, err := tx.GetObject(idempotencyKind, hashHex(token))
	if errors.Is(err, localstore.ErrNotFound) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	var r idempotencyRecord
	if err := json.Unmarshal(o.Data, &r); err != nil || now.Sub(r.CreatedAt) > IdempotencyWindow {
		return "", "", nil
	}
	if r.ArgsHash != hashHex(args) {
		return "", "", errs.Refusedf("idempotency token %q was used within the last hour with other arguments", token).
			WithCode(CodeIdempotencyConflict)
	}
	c, err := tx.GetCertificate(r.CertID)
	if err != nil {
		return "", "", nil // deleted since: request anew
	}
	switch {
	case r.Refused != nil:
		refused = *r.Refused
	case c.Status == StatusFailed:
		// Recorded before the first answer was kept: as then, a
		// certificate FAILED is refused again.
		refused = c.FailureReason
	}
	return r.CertID, refused, nil
}

// RecordIdempotent remembers that token produced certID, and refused, the
// FailureReason the request was refused with ("" when it was not).
func RecordIdempotent(tx localstore.Tx, token string, args any, certID, refused string, now time.Time) error {
	if token == "" {
		return nil
	}
	data, _ := json.Marshal(idempotencyRecord{ArgsHash: hashHex(args), CertID: certID, CreatedAt: now, Refused: &refused})
	return tx.PutObject(&localstore.Object{Kind: idempotencyKind, ID: hashHex(token), Data: data, UpdatedAt: now})
}
