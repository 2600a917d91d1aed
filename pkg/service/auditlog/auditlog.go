// Package auditlog is the service behind `certctl audit list` and `certctl
// audit verify`: reading the audit log and checking its HMAC chain. Both
// need the vault's master key (the chain key derives from it): with a
// locked vault they fail as the vault being unavailable (exit 6).
package auditlog

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// Settings are the configuration the service acts on.
type Settings struct{}

// Service is the auditlog service.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}

// Query selects a page of the audit log.
type Query struct {
	Filter audit.Filter
	// MaxItems, when positive, bounds the page; NextToken then continues.
	MaxItems      int
	StartingToken string
}

// Page is one page of the audit log, oldest record first.
type Page struct {
	Records   []*audit.Record
	NextToken string
}

// chainKey is the audit chain's key; a locked vault is unavailable.
func (s *Service) chainKey() ([]byte, error) {
	sealer, err := s.core.Vault.Sealer()
	if err != nil {
		return nil, service.MapError(err)
	}
	return sealer.AuditKey(), nil
}

// List returns the records q selects.
func (s *Service) List(ctx context.Context, q Query) (*Page, error) {
	recs := []*audit.Record{}
	page, err := s.each(ctx, q, func() error { recs = recs[:0]; return nil },
		func(r *audit.Record) error { recs = append(recs, r); return nil })
	if err != nil {
		return nil, err
	}
	page.Records = recs
	return page, nil
}

// ListEach calls emit with each record q selects, oldest first, as they
// are read (audit list printing a log of any size in little memory), and
// returns the page's NextToken (the records are not in the page). A read
// the store runs again after part of the list was emitted fails, as
// certificates.ListEach does: what was printed cannot be taken back.
func (s *Service) ListEach(ctx context.Context, q Query, emit func(*audit.Record) error) (*Page, error) {
	restart, once := service.EmitOnce(emit)
	return s.each(ctx, q, restart, once)
}

// each reads the records q selects, calling restart at the start of each
// run of the read (a store may run one more than once) and emit with each
// record, and returns the page's NextToken.
func (s *Service) each(ctx context.Context, q Query, restart func() error, emit func(*audit.Record) error) (*Page, error) {
	after, window, err := decodeToken(q.StartingToken)
	if err != nil {
		return nil, err
	}
	if window != nil {
		// The page continues the listing its token came from, in the
		// time window of its first page: a --since given as a duration
		// (24h) would otherwise slide between pages, and the records
		// that left the window unseen (tester).
		q.Filter.Since, q.Filter.Until = window.since, window.until
	}
	// No key is needed to read the records (only to check their chain):
	// a passphrase-locked vault lists its log as it lists certificates
	// (tester: an auditor without the passphrase could read nothing).
	limit := 0
	if q.MaxItems > 0 {
		limit = q.MaxItems + 1 // one more: is there a next page?
	}
	page := &Page{}
	var emitErr error
	err = s.core.Read(ctx, func(tx localstore.Tx) error {
		if err := restart(); err != nil {
			return err
		}
		page.NextToken, emitErr = "", nil
		n, last := 0, int64(0)
		return audit.Each(tx, q.Filter, after, limit, func(r *audit.Record) error {
			if n++; q.MaxItems > 0 && n > q.MaxItems {
				page.NextToken = encodeToken(last, q.Filter.Since, q.Filter.Until)
				return nil
			}
			last = r.Seq
			emitErr = emit(r)
			return emitErr
		})
	})
	if emitErr != nil {
		return nil, emitErr
	}
	if err != nil {
		return nil, err
	}
	return page, nil
}

// Verify walks the whole chain and returns how many records it checked.
// A chain that is not whole is an error (exit 6) naming the first record
// altered, removed or inserted; errors.As finds the *audit.Problem in it.
func (s *Service) Verify(ctx context.Context) (int64, error) {
	if _, err := s.chainKey(); err != nil {
		return 0, err
	}
	var n int64
	var problem *audit.Problem
	wit := audit.WitnessOf(s.core.Vault)
	// The chain is checked under the key its snapshot is sealed under
	// (Core.ReadSnapshot runs it again after another process's rotation).
	err := service.MapError(s.core.ReadSnapshot(ctx, func(tx localstore.Tx, sealer *localstore.Sealer, seen audit.Seen) error {
		key := sealer.AuditKey()
		var err error
		if n, problem, err = audit.Verify(tx, key); err != nil || problem != nil {
			return err
		}
		// The chain is whole; it must also reach as far as this host saw.
		problem, err = wit.Check(tx, key, seen)
		return err
	}))
	if err != nil {
		return n, err
	}
	if problem != nil {
		// The records before the problem verify: all n the walk checked
		// when it stopped at a break, fewer when the chain is whole and
		// the witness names one inside it that was replaced.
		good := min(n, problem.Seq-1)
		before := "no record before it verifies"
		switch {
		case problem.Replaced && good > 0:
			// The chain is whole up to it, but it is not the chain this
			// host appended to: the records before may have been
			// replaced too, back to one this host saw (verification
			// tester: a log cut and grown again was said to verify).
			before = fmt.Sprintf("records 1 to %d before it chain to it, but any of them written since this host's earlier changes may have been replaced too", good)
		case good > 0:
			before = fmt.Sprintf("records 1 to %d before it verify", good)
		}
		return n, (&errs.Error{Exit: errs.ExitVaultUnavailable, Code: "AuditChainBroken", Msg: "the audit log is not whole", Err: problem}).
			WithHint("the log was changed outside certctl; %s", before)
	}
	return n, nil
}

// tokenPrefix marks an audit log token: the seq to continue after, and
// the time window of the listing, "a:SEQ" or "a:SEQ|SINCE|UNTIL" (RFC
// 3339 times, empty for none: any year, review), tokens of earlier
// releases having no window.
const tokenPrefix = "a:"

// timeWindow is the time window a token carries.
type timeWindow struct{ since, until time.Time }

func encodeToken(seq int64, since, until time.Time) string {
	t := tokenPrefix + strconv.FormatInt(seq, 10) + "|" + tokenTime(since) + "|" + tokenTime(until)
	return base64.RawURLEncoding.EncodeToString([]byte(t))
}

func tokenTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func decodeToken(tok string) (int64, *timeWindow, error) {
	if tok == "" {
		return 0, nil, nil
	}
	bad := errs.BadStartingToken(tok)
	b, err := base64.RawURLEncoding.DecodeString(tok)
	rest, ok := strings.CutPrefix(string(b), tokenPrefix)
	if err != nil || !ok {
		return 0, nil, bad
	}
	parts := strings.Split(rest, "|")
	if len(parts) != 1 && len(parts) != 3 {
		return 0, nil, bad
	}
	n, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || n < 0 {
		return 0, nil, bad
	}
	if len(parts) == 1 {
		return n, nil, nil
	}
	var w timeWindow
	for i, dst := range []*time.Time{&w.since, &w.until} {
		if parts[i+1] == "" {
			continue
		}
		if *dst, err = time.Parse(time.RFC3339Nano, parts[i+1]); err != nil {
			return 0, nil, bad
		}
	}
	return n, &w, nil
}
