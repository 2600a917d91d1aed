package acmeserver

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// RenewalInfoRetryAfter is how long clients are told to wait before asking
// for a certificate's renewal information again (RFC 9773 section 4.3).
const RenewalInfoRetryAfter = 6 * time.Hour

// renewalInfoRetry is the Retry-After of the renewal information of a
// certificate that lasts lifetime: RenewalInfoRetryAfter, but at most an
// eighth of its life (at least a minute), so that a client of a
// short-lived certificate asks again while a window moved for it (endpoint
// renewal-window set) can still be heeded (tester: six hours for a
// certificate of minutes).
func renewalInfoRetry(lifetime time.Duration) time.Duration {
	return min(RenewalInfoRetryAfter, max(time.Minute, lifetime/8))
}

// renewalInfoJSON is the RFC 9773 4.2 renewalInfo object.
type renewalInfoJSON struct {
	SuggestedWindow windowJSON `json:"suggestedWindow"`
}

type windowJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// lookupCertID finds the certificate endpoint ep issued under certID (RFC
// 9773): issued from the vault CA whose subject key identifier is the
// certID's key identifier, with its serial. A malformed certID is a
// malformed problem (400), an unknown one a 404.
func lookupCertID(tx localstore.Tx, ep *acmestate.Endpoint, certID string) (*acmestate.Issued, *Problem, error) {
	id, err := acmestate.ParseCertID(certID)
	if err != nil {
		return nil, malformed(err.Error()), nil
	}
	is, err := acmestate.FindIssued(tx, ep.ID, x509util.FormatSerial(id.Serial), func(r *authority.Record) bool {
		c, err := r.Certificate()
		if err != nil {
			return false
		}
		kid, err := casign.IssuerKeyID(c)
		return err == nil && bytes.Equal(kid, id.AKI)
	})
	if err != nil {
		return nil, nil, err
	}
	if is == nil {
		return nil, problem(errMalformed, http.StatusNotFound, "no certificate of this endpoint has certID "+certID), nil
	}
	return is, nil, nil
}

// handleRenewalInfo answers GET renewal-info/<certID> (RFC 9773) for a
// certificate the endpoint issued: the window an administrator set
// (`endpoint renewal-window set`), else the middle of the last third of
// its lifetime; a window in the past for a revoked certificate.
func (s *Server) handleRenewalInfo(w http.ResponseWriter, r *http.Request) {
	ep, p := s.endpointOf(r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	var start, end time.Time
	retry := RenewalInfoRetryAfter
	err := s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
		is, pr, err := lookupCertID(tx, ep, r.PathValue("certid"))
		if err != nil || pr != nil {
			p = pr
			return err
		}
		sr := is.Serial
		retry = renewalInfoRetry(sr.NotAfter.Sub(sr.NotBefore))
		start, end = acmestate.SuggestedWindow(sr.NotBefore, sr.NotAfter, sr.RevokedAt)
		if !sr.RevokedAt.IsZero() {
			return nil
		}
		win, err := acmestate.RenewalWindowOf(tx, ep.ID, sr.Serial, sr.IssuedAt)
		if err != nil {
			return err
		}
		if win != nil {
			start, end = win.Start, win.End
		}
		return nil
	})
	if err != nil {
		writeProblem(w, s.internal(err))
		return
	}
	if p != nil {
		writeProblem(w, p)
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
	writeJSON(w, http.StatusOK, renewalInfoJSON{SuggestedWindow: windowJSON{Start: rfc3339(start), End: rfc3339(end)}})
}
