package authority

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// CRLValidity is how long a CRL stays current (its nextUpdate).
const CRLValidity = 7 * 24 * time.Hour

// Revoke records the revocation of serial issued by r. For key or CA
// compromise it also marks (KeyRevoked) the CAs of the vault whose key
// that certificate holds — a certificate of a CA's key revoked by its
// issuer is revoked here (ca revoke-certificate), never through the
// inventory — and the key itself is noted compromised
// (inventory.RevokeSerial), so that a CA imported with that key later is
// refused (ImportCA, ImportCertificate).
func Revoke(tx localstore.Tx, issuerID, serial string, at time.Time, reason int) error {
	if err := inventory.RevokeSerial(tx, issuerID, serial, at, reason); err != nil {
		return err
	}
	if reason != 1 && reason != 2 { // keyCompromise, cACompromise
		return nil
	}
	rec, err := tx.GetSerial(issuerID, serial)
	if err != nil {
		return err
	}
	revoked, err := x509.ParseCertificate(rec.DER)
	if err != nil {
		return nil
	}
	all, err := List(tx)
	if err != nil {
		return err
	}
	return markKeyRevoked(tx, all, revoked, issuerID, serial, at, reason)
}

// markKeyRevoked marks (KeyRevoked) the CAs of all whose key the
// certificate revoked, serial of issuerID, holds: any certificate for a
// CA's key marks the CA, a CA certificate or not (the key certified as a
// leaf from its ca csr).
func markKeyRevoked(tx localstore.Tx, all []*Record, revoked *x509.Certificate, issuerID, serial string, at time.Time, reason int) error {
	return markCAs(tx, all, func(r *Record) bool {
		c, err := r.Certificate()
		return err == nil && c != nil && bytes.Equal(c.RawSubjectPublicKeyInfo, revoked.RawSubjectPublicKeyInfo)
	}, issuerID, serial, at, reason)
}

// markCAs marks (KeyRevoked) the CAs of all that holds accepts with the
// revocation of serial of issuerID for reason at at. A CA already marked
// keeps its mark.
func markCAs(tx localstore.Tx, all []*Record, holds func(*Record) bool, issuerID, serial string, at time.Time, reason int) error {
	for _, r := range all {
		if r.KeyRevoked != "" || !holds(r) {
			continue
		}
		r.KeyRevoked = fmt.Sprintf("serial %s of CA %s, %s, %s", serial, issuerID, casign.ReasonName(reason), timeutil.RFC3339(at))
		if err := Put(tx, r); err != nil {
			return err
		}
	}
	return nil
}

// BackfillCompromised applies the compromise rule to the revocations a
// release before it wrote (localstore.MetaUpgradeCompromisedKeys): the
// key of every certificate revoked for keyCompromise or cACompromise is
// noted compromised and the CAs that hold it are marked, as Revoke does
// now, so that an upgraded vault signs for or with none of them again.
// It returns how many revocations it applied. Stricter than Revoke in one
// case: a keyCompromise revocation an ACME account (not the certificate's
// key) asked for, which Revoke leaves the key usable after, cannot be told
// from the others here, and blocks the key too.
func BackfillCompromised(tx localstore.Tx) (int, error) {
	all, err := List(tx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, issuer := range all {
		revoked, err := tx.ListRevoked(issuer.ID)
		if err != nil {
			return n, err
		}
		for _, s := range revoked {
			cert, err := inventory.NoteCompromisedKey(tx, issuer.ID, s.Serial, s.RevokedAt, s.Reason)
			if err != nil {
				return n, err
			}
			if cert == nil {
				// A serial recorded without its certificate (a vault
				// from before serials kept it): a CA's own certificate
				// is still known by its serial and issuer.
				if s.Reason == 1 || s.Reason == 2 {
					own := func(r *Record) bool { return r.ParentID == issuer.ID && r.Serial == s.Serial }
					if err := markCAs(tx, all, own, issuer.ID, s.Serial, s.RevokedAt, s.Reason); err != nil {
						return n, err
					}
				}
				continue
			}
			n++
			if err := markKeyRevoked(tx, all, cert, issuer.ID, s.Serial, s.RevokedAt, s.Reason); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// CRL builds a new CRL for r (its number one above the last), in tx.
func (s *Service) CRL(tx localstore.Tx, r *Record) ([]byte, error) {
	return s.CRLPartition(tx, r, -1)
}

// CRLPartition builds a new CRL for r's partition n (n < 0: the complete
// CRL), numbered above the last one, in tx. A partition lists the revoked
// certificates of that partition and names its distribution point in a
// critical Issuing Distribution Point extension.
func (s *Service) CRLPartition(tx localstore.Tx, r *Record, n int) ([]byte, error) {
	if !r.publishesRevocation(s.Now()) {
		if r.Status == StatusDeleted {
			return nil, invalidState("certificate authority %s was permanently deleted at %s: it signs no CRL", r.ID, timeutil.RFC3339(r.RestorableUntil))
		}
		return nil, invalidState("certificate authority %s is %s: it signs no CRL", r.ID, r.Status)
	}
	if !r.SignsCRLs() {
		return nil, errs.Refusedf("certificate authority %s cannot sign CRLs: its certificate's Key Usage lacks cRLSign, so it publishes none and its certificates carry no CRL distribution point; the OCSP responder (certctl ca serve) still answers for them", r.ID)
	}
	if err := s.checkPartition(r, n); err != nil {
		return nil, err
	}
	cert, key, err := s.signer(tx, r)
	if err != nil {
		return nil, err
	}
	// Above the responders' last too (crlPublication): one sequence of
	// numbers for the CA, whoever signs.
	last := r.CRLNumber
	if p, err := readCRLPublication(tx, crlPublicationKey(r.ID, n)); err != nil {
		return nil, err
	} else if p != nil && p.Number > last {
		last = p.Number
	}
	now := s.Now()
	r.CRLNumber = nextCRLNumber(last, now)
	if err := Put(tx, r); err != nil {
		return nil, err
	}
	return s.buildCRL(tx, r, cert, key, r.CRLNumber, n, now)
}

// publishesRevocation reports whether r signs CRLs and OCSP responses at
// now: it has its certificate and is not permanently deleted. A DELETED
// CA still within its restore window keeps publishing the revocations of
// the certificates it issued, which chain as before and can still be
// revoked (it issues nothing until it is restored): a relying party that
// finds no CRL or OCSP answer may accept a certificate revoked for a
// compromised key. ca crl refuses the others (exit 5), the responder serves them
// nothing (404).
func (r *Record) publishesRevocation(now time.Time) bool {
	return r.CertificatePEM != "" && (r.Status != StatusDeleted || !now.After(r.RestorableUntil))
}

// SignsCRLs reports whether r's certificate allows it to sign CRLs
// (casign.MaySignCRLs): a CA imported with a certificate whose Key Usage
// lacks cRLSign (mkcert's roots) cannot publish a CRL, so the certificates
// it issues carry no CRL distribution point, `ca crl` refuses it (exit 5)
// and the responder serves no CRL of it (404); OCSP answers for it as for
// any CA. A CA without a certificate yet, or whose certificate cannot be
// read (reported where it is used), is not held back here.
func (r *Record) SignsCRLs() bool {
	if r.CertificatePEM == "" {
		return true
	}
	if v, ok := crlSigning.Load(r.CertificatePEM); ok {
		return v.(bool)
	}
	cert, err := r.Certificate()
	if err != nil {
		return true
	}
	ok := casign.MaySignCRLs(cert)
	crlSigning.Store(r.CertificatePEM, ok)
	return ok
}

// crlSigning keeps SignsCRLs's answer by CA certificate (PEM): every
// issuance asks it, and a CA's certificate is parsed once.
var crlSigning sync.Map

// CRLNotice is the notice that names r as a CA that cannot sign CRLs
// (SignsCRLs), for the commands that bring such a certificate in; "" for
// any other CA.
func (r *Record) CRLNotice() string {
	if r.SignsCRLs() {
		return ""
	}
	return fmt.Sprintf("certificate authority %s cannot sign CRLs: its certificate's Key Usage lacks cRLSign. The certificates it issues carry no CRL distribution point, `certctl ca crl` refuses it, and OCSP (certctl ca serve) answers for them", r.ID)
}

func (s *Service) checkPartition(r *Record, n int) error {
	if n < 0 {
		return nil
	}
	p := s.Partitions(r)
	if p == 0 && !r.partitioned() {
		return errs.NotFoundf("certificate authority %s has no CRL partitions: its CRL is COMPLETE (ca crl without --partition)", r.ID)
	}
	if n >= p {
		return errs.NotFoundf("certificate authority %s has %d CRL partition(s): no partition %d", r.ID, p, n)
	}
	return nil
}

// buildCRL signs the CRL of r's partition part (part < 0: the complete
// CRL) numbered number at now (its thisUpdate casign.Backdate before).
func (s *Service) buildCRL(tx localstore.Tx, r *Record, cert *x509.Certificate, key crypto.Signer, number int64, part int, now time.Time) ([]byte, error) {
	// The serial, time and reason of each revoked serial, from the index
	// alone (ListRevoked would read every record), each encoded into the
	// CRL as it is read: nothing is kept of a serial but its entry. A
	// revoked serial that cannot be read or listed (not a positive serial
	// of at most 20 octets, an unknown reason) was never written so: the
	// vault is corrupt (ErrCorrupt, exit 6).
	var entries casign.CRLEntries
	var buf [casign.MaxSerialOctets]byte
	err := tx.EachRevocation(r.ID, func(stored []byte, at time.Time, reason int) error {
		serial, err := storedSerialBytes(buf[:0], stored)
		if err == nil && (part < 0 || partitionOf(serial) == part) {
			err = entries.Add(serial, at, reason)
		}
		if err != nil {
			return fmt.Errorf("%w: revoked serial %q: %v", localstore.ErrCorrupt, stored, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.signCRL(r, cert, key, &entries, number, part, now)
}

func (s *Service) signCRL(r *Record, cert *x509.Certificate, key crypto.Signer, entries *casign.CRLEntries, number int64, part int, now time.Time) ([]byte, error) {
	opts := casign.CRLOptions{SignatureAlgorithm: signatureAlgorithm(r, key.Public())}
	if part >= 0 {
		if opts.DistributionPoint = s.CRLURL(r, part); opts.DistributionPoint == "" {
			return nil, errs.Refusedf("certificate authority %s has no CRL location (set ca.base_url or a CustomCname)", r.ID)
		}
	}
	// Dated as the certificates are (casign.Backdate); it lasts as long
	// from now.
	return casign.SignCRL(cert, key, entries, big.NewInt(number), crlThisUpdate(entries, now), crlNextUpdate(r, cert, now), opts)
}

// crlThisUpdate is the thisUpdate of a CRL of entries signed at now:
// casign.Backdate before it, for relying parties whose clocks run behind,
// but not before the latest revocation it lists (tester: a CRL signed
// within a minute of a revocation said it was current at a moment before
// it), nor after now (a revocation dated ahead by another host's clock: a
// CRL dated in the future is one openssl refuses, "not yet valid"). The
// same entries and now give the same date: the servers of a store sign
// one CRL alike (Lookup).
func crlThisUpdate(entries *casign.CRLEntries, now time.Time) time.Time {
	at := now.Add(-casign.Backdate)
	if latest := entries.Latest(); latest.After(at) {
		at = latest
	}
	if now := now.UTC().Truncate(time.Second); at.After(now) {
		at = now
	}
	return at
}

// crlNextUpdate is the nextUpdate of a CRL of r signed at now.
func crlNextUpdate(r *Record, cert *x509.Certificate, now time.Time) time.Time {
	next := now.Add(crlExpiry(r))
	if next.After(cert.NotAfter) && cert.NotAfter.After(now) {
		// A CRL says nothing past its issuer's certificate: whoever
		// relies on it must fetch the next one (from its successor) by
		// then.
		next = cert.NotAfter
	}
	return next
}

// nextCRLNumber is strictly above last and follows the clock (nanoseconds),
// so CRLs built by `ca crl` and by the responders carry increasing numbers.
// When the clock is not above last (a server whose clock is behind the one
// that signed last), it is last plus a random step of up to 2^20: two
// signers that number above the same last at once, neither seeing the
// other's (a responder's number not yet recorded, ca crl), do not sign two
// CRLs under one number (review: both took last+1), but for a chance of
// one in a million.
func nextCRLNumber(last int64, now time.Time) int64 {
	if n := now.UnixNano(); n > last {
		return n
	}
	return last + 1 + rand.Int64N(1<<20)
}

// Lookup serves the OCSP/CRL responder from the vault.
type Lookup struct {
	Service *Service
	ctxTx   func(fn func(localstore.Tx) error) error
	// update, when set, writes the CRL publications (crlPublication) that
	// make the servers of one store serve the same CRL number; publishing
	// counts the writes under way (tests wait for them).
	update     func(fn func(localstore.Tx) error) error
	publishing sync.WaitGroup
	// recording is set while a write of update is under way: one at a
	// time, so that writes waiting for the store's write lock (held by
	// another process) never take more than one of the connections the
	// GETs read with (tester: on PostgreSQL, ca serve's four, one a CA).
	recording atomic.Bool
	// logf, when set, is told of a publication the store did not take,
	// once a CRL.
	logf func(format string, a ...any)

	// crls are the CRLs served last, by CA and partition (crlKey): a GET
	// is answered with the same CRL, not a new one, while it is current
	// (crlEntry.current). Signing one reads every revoked serial of the
	// CA (89 ms for 100,000), and anyone may ask for it.
	crlMu sync.Mutex
	crls  map[crlKey]*crlEntry
}

// crlReuse is how long the responder serves one CRL again while nothing
// it lists has changed: it was signed at most that long ago.
const crlReuse = time.Hour

type crlKey struct {
	ca   string
	part int
}

// crlEntry is a CRL the responder built and what it was built from. Its
// lock is held while it is checked or built, so that a burst of GETs for a
// CRL that is not current signs it once.
type crlEntry struct {
	mu         sync.Mutex
	der        []byte
	nextUpdate time.Time
	// pub is what the CRL was built from and signed with: the CA's
	// revocation epoch and record, its number and thisUpdate (kept, with
	// der dropped, when the CA is no longer served: the floor of this
	// server's next number). publishedAt is when this server last tried
	// to write it (zero: not its own, or not yet).
	pub         crlPublication
	publishedAt time.Time
	// unlogged is the number of the last publication whose failed write
	// was logged (once a CRL).
	unlogged atomic.Int64
}

// current reports whether e may be served again at now for a CA whose
// revocation epoch and record are the publication fields epoch and record
// (crlSource): it was built from the same revocations (the same epoch, or
// none for both: the CA never revoked) and the same CA record (its
// certificate, status, CRL number and settings), at most crlReuse ago,
// and is not past its nextUpdate.
func (e *crlEntry) current(epoch, record string, now time.Time) bool {
	return e.der != nil && e.pub.serves(epoch, record, now) && now.Before(e.nextUpdate)
}

// crlPublication is the number and thisUpdate of a CRL of a CA's
// partition that a server of the store signed, kept in the store (meta
// crlPublicationKey) so that the other servers sign theirs with the same
// ones. A server that needs a new CRL (a new epoch or CA record, or the
// last one an hour old) numbers it above the publication it finds and
// above its own last CRL, serves it at once, and then writes it, unless
// the store holds a higher number by then; a server that finds a
// publication of the same epoch and record numbered above its own CRL
// signs again with it; one that finds its own CRL's number recorded for
// another CRL (two servers signed at once) signs again with the record,
// or, when the record's CRL shows other revocations or another CA
// record, a new one numbered above it. So one server's numbers only grow
// (a failed GET keeps them: Lookup.failed), one number names one CRL,
// and the servers of a store converge on the highest within a GET or two
// (a server does not take a record dated after its clock: servers whose
// clocks differ, once the slower one reaches it), without a GET ever
// waiting for the store's write lock.
type crlPublication struct {
	Epoch      string `json:"epoch"`  // hex
	Record     string `json:"record"` // hex SHA-256 of the CA record (crlSource)
	Number     int64  `json:"number"`
	ThisUpdate int64  `json:"thisUpdate"` // Unix nanoseconds
}

// crlRepublish is how long a server waits before it writes its
// publication again after a write that did not take (a store it cannot
// write, another server's in the way).
const crlRepublish = 10 * time.Second

func crlPublicationKey(caID string, part int) string {
	return "responder-crl/" + caID + "/" + strconv.Itoa(part)
}

// readCRLPublication is the publication tx holds for key; nil when none,
// or one that cannot be read (it is written over).
func readCRLPublication(tx localstore.Tx, key string) (*crlPublication, error) {
	raw, err := tx.GetMeta(key)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p crlPublication
	if json.Unmarshal(raw, &p) != nil {
		return nil, nil
	}
	return &p, nil
}

// serves reports whether p is the publication of a CRL built from epoch
// and record (crlSource), dated at most crlReuse before now and not after
// it.
func (p *crlPublication) serves(epoch, record string, now time.Time) bool {
	if p == nil || p.Epoch != epoch || p.Record != record {
		return false
	}
	at := p.thisUpdate()
	return !now.Before(at) && now.Sub(at) < crlReuse
}

// thisUpdate is p's ThisUpdate as a time.
func (p *crlPublication) thisUpdate() time.Time { return time.Unix(0, p.ThisUpdate).UTC() }

// crlEntry returns the entry of CA caID's partition part, locked: the
// one in l.crls once it is locked (a GET that waited for an entry that a
// failed GET dropped meanwhile takes the map's, so that no number is kept
// where no later GET finds it).
func (l *Lookup) crlEntry(caID string, part int) *crlEntry {
	k := crlKey{caID, part}
	for {
		l.crlMu.Lock()
		if l.crls == nil {
			l.crls = map[crlKey]*crlEntry{}
		}
		e := l.crls[k]
		if e == nil {
			e = &crlEntry{}
			l.crls[k] = e
		}
		l.crlMu.Unlock()
		e.mu.Lock()
		l.crlMu.Lock()
		kept := l.crls[k] == e
		l.crlMu.Unlock()
		if kept {
			return e
		}
		e.mu.Unlock()
	}
}

// crlSource is what a CRL of r is built from, as a publication holds
// it: the hex of the CA's revocation epoch, and the hex SHA-256 of r less
// the count of certificates it issued, which changes with each issuance
// of a PARTITIONED CA and is not in any CRL (a serial's partition is of
// the serial alone).
func crlSource(tx localstore.Tx, r *Record) (epoch, record string, err error) {
	c := *r
	c.IssuedCount = 0
	raw, err := json.Marshal(&c)
	if err != nil {
		return "", "", err
	}
	token, err := localstore.RevocationEpoch(tx, r.ID)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(token), hex.EncodeToString(sum[:]), nil
}

// NewLookup returns a responder lookup over the vault: view runs a read
// transaction; update, when not nil, a write transaction in which the
// lookup records the number and date of the CRLs it signs, so that the
// responders of one store serve the same (without it, a lookup signs
// with what others recorded, or numbers its own); logf, when not nil, is
// told when such a record fails, once a CRL.
func (s *Service) NewLookup(view, update func(fn func(localstore.Tx) error) error, logf func(format string, a ...any)) *Lookup {
	return &Lookup{Service: s, ctxTx: view, update: update, logf: logf}
}

// CAs implements casign.Lookup.
func (l *Lookup) CAs() ([]casign.IssuerInfo, error) {
	var out []casign.IssuerInfo
	err := l.ctxTx(func(tx localstore.Tx) error {
		all, err := List(tx)
		if err != nil {
			return err
		}
		for _, r := range all {
			if !r.publishesRevocation(l.Service.Now()) {
				continue
			}
			if r.InToken() {
				// The token key is looked up only to sign a response of
				// this CA: a token that is unavailable fails those
				// responses alone, not the other CAs'.
				c, err := l.Service.cached(tx, r)
				if err != nil {
					return err
				}
				out = append(out, casign.IssuerInfo{ID: r.ID, Cert: c.cert, Signer: &tokenSigner{s: l.Service, r: r, pub: c.cert.PublicKey},
					SignatureAlgorithm: signatureAlgorithm(r, c.cert.PublicKey)})
				continue
			}
			cert, key, err := l.Service.signer(tx, r)
			if err != nil {
				return err
			}
			out = append(out, casign.IssuerInfo{ID: r.ID, Cert: cert, Signer: key, SignatureAlgorithm: signatureAlgorithm(r, key.Public())})
		}
		return nil
	})
	return out, err
}

// Status implements casign.Lookup.
func (l *Lookup) Status(caID string, serial *big.Int) (casign.Status, error) {
	var st casign.Status
	err := l.ctxTx(func(tx localstore.Tx) error {
		rec, err := tx.GetSerial(caID, x509util.FormatSerial(serial))
		if errors.Is(err, localstore.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		st.Known = true
		if !rec.RevokedAt.IsZero() {
			st.Revoked, st.RevokedAt, st.Reason = true, rec.RevokedAt, rec.Reason
		}
		return nil
	})
	return st, err
}

// CRL implements casign.Lookup: a fresh CRL, numbered after the last one.
func (l *Lookup) CRL(caID string) ([]byte, error) {
	return l.crl(caID, -1)
}

func (l *Lookup) crl(caID string, part int) ([]byte, error) {
	e := l.crlEntry(caID, part)
	defer e.mu.Unlock()
	var der []byte
	err := l.ctxTx(func(tx localstore.Tx) error {
		r, err := Get(tx, caID)
		if err != nil {
			return fmt.Errorf("%w: %v", casign.ErrNotFound, err)
		}
		// Not served: 404, not a server error.
		if !r.publishesRevocation(l.Service.Now()) {
			return fmt.Errorf("%w: certificate authority %s is %s", casign.ErrNotFound, caID, r.Status)
		}
		if !r.SignsCRLs() {
			return fmt.Errorf("%w: certificate authority %s cannot sign CRLs (no cRLSign)", casign.ErrNotFound, caID)
		}
		if err := l.Service.checkPartition(r, part); err != nil {
			return fmt.Errorf("%w: %v", casign.ErrNotFound, err)
		}
		epoch, record, err := crlSource(tx, r)
		if err != nil {
			return err
		}
		now := l.Service.Now()
		stored, err := readCRLPublication(tx, crlPublicationKey(caID, part))
		if err != nil {
			return err
		}
		// Another server's CRL numbered as this one's: two CRLs must not
		// share a number.
		collide := e.der != nil && stored != nil && stored.Number == e.pub.Number && *stored != e.pub
		// Another server's CRL of the same revocations and CA, numbered
		// above this one's or colliding with it: signed again with its
		// number and date. (A colliding one of other revocations or
		// another record: a new one, numbered above both.)
		adopt := stored.serves(epoch, record, now) && (stored.Number > e.pub.Number || collide)
		if e.current(epoch, record, now) && !adopt && !collide {
			der = e.der
			l.republish(caID, part, e, stored, now)
			return nil
		}
		pub := stored
		if !adopt {
			// A new one, above the store's, this server's last and ca
			// crl's last.
			last := max(r.CRLNumber, e.pub.Number)
			if stored != nil {
				last = max(last, stored.Number)
			}
			pub = &crlPublication{Epoch: epoch, Record: record, Number: nextCRLNumber(last, now), ThisUpdate: now.UnixNano()}
		}
		cert, key, err := l.Service.signer(tx, r)
		if err != nil {
			return err
		}
		der, err = l.Service.buildCRL(tx, r, cert, key, pub.Number, part, pub.thisUpdate())
		if err != nil {
			return err
		}
		e.der, e.pub, e.nextUpdate = der, *pub, crlNextUpdate(r, cert, pub.thisUpdate())
		e.publishedAt = time.Time{}
		if adopt {
			e.publishedAt = now // the store's own: nothing to write
		}
		l.republish(caID, part, e, stored, now)
		return nil
	})
	if err != nil {
		l.failed(caID, part, e, err)
	}
	return der, err
}

// republish writes e's publication in the background, when it is this
// server's, the store holds a lower number (stored), no write of it was
// tried in the last crlRepublish, and no other write is under way (it is
// then tried at a later GET). It runs with e locked.
func (l *Lookup) republish(caID string, part int, e *crlEntry, stored *crlPublication, now time.Time) {
	if l.update == nil || (stored != nil && stored.Number >= e.pub.Number) ||
		(!e.publishedAt.IsZero() && now.Sub(e.publishedAt) < crlRepublish && !now.Before(e.publishedAt)) ||
		!l.recording.CompareAndSwap(false, true) {
		return
	}
	e.publishedAt = now
	raw, err := json.Marshal(&e.pub)
	if err != nil {
		l.recording.Store(false)
		return
	}
	key, number := crlPublicationKey(caID, part), e.pub.Number
	l.publishing.Add(1)
	go func() {
		defer l.publishing.Done()
		defer l.recording.Store(false)
		// Best effort: a store this process cannot write, or a write
		// refused, leaves this server numbering its own until it is
		// written, another server's is higher, or the CRL is renewed.
		err := l.update(func(tx localstore.Tx) error {
			p, err := readCRLPublication(tx, key)
			if err != nil || (p != nil && p.Number >= number) {
				return err
			}
			return tx.PutMeta(key, raw)
		})
		if err != nil && l.logf != nil && e.unlogged.Swap(number) != number {
			which := "CRL"
			if part >= 0 {
				which = "CRL partition " + strconv.Itoa(part)
			}
			l.logf("responder: %s of CA %s, number %d, not recorded in the store; until it is, the servers of the store may serve different numbers: %v", which, caID, number, err)
		}
	}()
}

// failed keeps what a failed GET of CA caID's partition part leaves of
// its entry e (locked). An entry that never served a CRL is dropped, so
// that GETs of made-up CAs leave nothing behind. One that did keeps its
// number, the floor of this server's next one (its publication may not be
// in the store): its CRL too after a failure to read (the store away for
// a moment), not once the CA is not served.
func (l *Lookup) failed(caID string, part int, e *crlEntry, err error) {
	if e.pub.Number != 0 {
		if errors.Is(err, casign.ErrNotFound) {
			e.der = nil
		}
		return
	}
	l.crlMu.Lock()
	if k := (crlKey{caID, part}); l.crls[k] == e {
		delete(l.crls, k)
	}
	l.crlMu.Unlock()
}

// CRLPartition implements casign.PartitionLookup: partition n of a
// PARTITIONED CA.
func (l *Lookup) CRLPartition(caID string, n int) ([]byte, error) {
	return l.crl(caID, n)
}

// storedSerialBytes appends to dst the big-endian magnitude of a serial
// as the vault stores it (FormatSerial's colon-separated hex octets, read
// without allocating); another form goes through x509util.ParseSerial. A
// negative serial is refused; a zero or too long one is left to
// casign.CRLEntries.Add, which refuses it.
func storedSerialBytes(dst, s []byte) ([]byte, error) {
	if n := (len(s) + 1) / 3; len(s)%3 == 2 && len(dst)+n <= cap(dst) {
		out, ok := dst, true
		for i := 0; i < n && ok; i++ {
			hi, ok1 := unhex(s[3*i])
			lo, ok2 := unhex(s[3*i+1])
			ok = ok1 && ok2 && (i == 0 || s[3*i-1] == ':')
			out = append(out, hi<<4|lo)
		}
		if ok {
			return out, nil
		}
	}
	v, err := x509util.ParseSerial(string(s))
	if err != nil {
		return nil, err
	}
	if v.Sign() < 0 {
		return nil, errors.New("negative serial number")
	}
	return v.FillBytes(make([]byte, (v.BitLen()+7)/8)), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// tokenSigner is the key of the PKCS11 CA r, found in the token when it
// signs.
type tokenSigner struct {
	s   *Service
	r   *Record
	pub crypto.PublicKey
}

func (k *tokenSigner) Public() crypto.PublicKey { return k.pub }

func (k *tokenSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	key, err := k.s.tokenKey(k.r, k.pub)
	if err != nil {
		return nil, err
	}
	return key.Sign(rand, digest, opts)
}
