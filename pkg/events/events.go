// Package events is certctl's event log: ACM's EventBridge event shapes
// (source "certctl"), appended to the vault in the transaction that caused
// them and delivered after commit to the configured hook command.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/hookenv"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/shellarg"
	"github.com/certctl/certctl/pkg/timeutil"
)

// Source is the source of every event.
const Source = "certctl"

// Detail types (ACM's).
const (
	ApproachingExpiration = "Certificate Approaching Expiration"
	Expired               = "Certificate Expired"
	Available             = "Certificate Available"
	RenewalActionRequired = "Certificate Renewal Action Required"
	Revoked               = "Certificate Revoked"
)

// DetailTypes lists the detail types.
var DetailTypes = []string{ApproachingExpiration, Expired, Available, RenewalActionRequired, Revoked}

// Actions of Certificate Available.
const (
	ActionIssuance = "ISSUANCE"
	ActionRenewal  = "RENEWAL"
	ActionImport   = "IMPORT"
	ActionReimport = "REIMPORT"
)

// Event is an EventBridge event.
type Event struct {
	Version    string         `json:"version"`
	ID         string         `json:"id"`
	DetailType string         `json:"detail-type"`
	Source     string         `json:"source"`
	Account    string         `json:"account"`
	Time       string         `json:"time"`
	Region     string         `json:"region"`
	Resources  []string       `json:"resources"`
	Detail     map[string]any `json:"detail"`
}

// Emitter appends events in a transaction and remembers them for delivery
// after commit. Make one per transaction attempt.
type Emitter struct {
	Region, Account string
	Now             func() time.Time
	Pending         []*Event
}

// Emit appends an event about resources to the log in tx.
func (e *Emitter) Emit(tx localstore.Tx, detailType string, resources []string, detail map[string]any) error {
	now := e.Now().UTC()
	ev := &Event{
		Version: "0", ID: uuid.NewString(), DetailType: detailType, Source: Source,
		Account: e.Account, Time: now.Truncate(time.Second).Format(time.RFC3339), Region: e.Region,
		Resources: resources, Detail: detail,
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := tx.AppendEvent(now, data); err != nil {
		return err
	}
	e.Pending = append(e.Pending, ev)
	return nil
}

// CertificateDetail is the detail ACM puts in certificate events.
func CertificateDetail(c *localstore.Certificate, now time.Time) map[string]any {
	d := map[string]any{
		"CertificateType":        c.Type,
		"CommonName":             c.DomainName,
		"DomainValidationMethod": c.ValidationMethod,
		"CertificateCreatedDate": c.CreatedAt.UTC().Truncate(time.Second).Format(time.RFC3339),
		"InUse":                  c.InUse(),
		"Exported":               c.Exported,
		"DaysToExpiry":           DaysToExpiry(c.NotAfter, now),
	}
	if !c.NotAfter.IsZero() {
		d["CertificateExpirationDate"] = c.NotAfter.UTC().Format(time.RFC3339)
	}
	return d
}

// DaysToExpiry is the number of whole days from now to notAfter (0 when past).
func DaysToExpiry(notAfter, now time.Time) int {
	if notAfter.IsZero() || !notAfter.After(now) {
		return 0
	}
	return int(timeutil.WholeDays(now, notAfter)) // not Sub: it stops at 292 years
}

// Decode parses a stored event.
func Decode(data []byte) (*Event, error) {
	ev := &Event{}
	return ev, json.Unmarshal(data, ev)
}

// HookTimeout bounds one run of the event hook (a variable for tests).
var HookTimeout = 30 * time.Second

// HookRest is how long a command runs the event hook no more after one
// run of it timed out: a hook that hangs would otherwise hold up a
// renewal pass HookTimeout an event — the deployments after it too
// (tester: three renewals and an expiry, two minutes late).
const HookRest = 5 * time.Minute

// hookRestUntil is when this process runs the event hook again after a
// run timed out (Unix nanoseconds; 0: it runs).
var hookRestUntil atomic.Int64

// hookAlways says whether this process runs the hook for every event
// (RunHookAlways) instead of resting it after a timeout (HookRest, what
// a command does).
var hookAlways atomic.Bool

// RunHookAlways makes this process run the event hook for every event,
// each within HookTimeout, however many time out: a long-running server
// skipping them would leave a gap at the integration for minutes, which
// nothing fills (review). The runs are a server's own work, in the order
// the events came, apart from the requests that made them: a request
// answers without waiting for the hook, and the hook gets its whole
// HookTimeout whatever becomes of the request (tester: under endpoint
// serve the hook was killed with the request's 10-second deadline, and
// every finalize waited on it).
func RunHookAlways() { hookAlways.Store(true) }

// hookQueueSize bounds the deliveries a server holds waiting for the hook.
const hookQueueSize = 4096

// delivery is events waiting for a server's hook.
type delivery struct {
	hook   string
	evs    []*Event
	errOut io.Writer
	env    []string
}

var (
	hookQueue     chan delivery
	hookQueueOnce sync.Once
	hookPending   sync.WaitGroup
	hookWaiting   atomic.Int64 // events queued or being delivered
)

// deliverLater queues evs for the server's hook runner, started once.
func deliverLater(hook string, evs []*Event, errOut io.Writer, env []string) {
	hookQueueOnce.Do(func() {
		hookQueue = make(chan delivery, hookQueueSize)
		go func() {
			for d := range hookQueue {
				deliverNow(context.Background(), d.hook, d.evs, d.errOut, d.env)
				hookWaiting.Add(-int64(len(d.evs)))
				hookPending.Done()
			}
		}()
	})
	hookPending.Add(1)
	hookWaiting.Add(int64(len(evs)))
	select {
	case hookQueue <- delivery{hook, evs, errOut, env}:
	default:
		hookWaiting.Add(-int64(len(evs)))
		hookPending.Done()
		fmt.Fprintf(errOut, "certctl: event hook not run for %d event(s): %d deliveries are waiting for it (certctl events lists them)\n", len(evs), hookQueueSize)
	}
}

// WaitHooks waits, until ctx ends, for a server's queued hook runs (at
// shutdown: the events of its last requests are delivered too), and
// returns how many events were left undelivered.
func WaitHooks(ctx context.Context) int {
	done := make(chan struct{})
	go func() { hookPending.Wait(); close(done) }()
	select {
	case <-done:
		return 0
	case <-ctx.Done():
		return int(hookWaiting.Load())
	}
}

// Deliver runs the hook command once per event with the event's JSON on
// stdin (sh -c on Unix) and env (the vault's: localstore.Vault.HookEnv)
// in its environment, each run within HookTimeout. Failures are
// reported to errOut, not returned: an event is already recorded in the
// vault and `certctl events` shows it. After a run that timed out, the
// hook is not run for HookRest, each event left to certctl events (said
// once a batch).
func Deliver(ctx context.Context, hook string, evs []*Event, errOut io.Writer, env ...string) {
	if hook == "" || len(evs) == 0 {
		return
	}
	if hookAlways.Load() {
		deliverLater(hook, evs, errOut, env)
		return
	}
	deliverNow(ctx, hook, evs, errOut, env)
}

// deliverNow is Deliver in line.
func deliverNow(ctx context.Context, hook string, evs []*Event, errOut io.Writer, env []string) {
	if err := shellarg.CheckHookCommand(hook); err != nil {
		// Set before hooks ran in / (config set refuses it now): run
		// there, it would be another program, or none (review).
		fmt.Fprintf(errOut, "certctl: event hook not run for %d event(s): %v: set it again with its absolute path (certctl config set hooks.event …; certctl events lists them)\n",
			len(evs), err)
		return
	}
	for i, ev := range evs {
		if until := hookRestUntil.Load(); until != 0 && time.Now().UnixNano() < until {
			fmt.Fprintf(errOut, "certctl: event hook not run for %d event(s): it timed out after %s less than %s ago (certctl events lists them)\n",
				len(evs)-i, HookTimeout, HookRest)
			return
		}
		data, _ := json.Marshal(ev)
		cctx, cancel := context.WithTimeout(ctx, HookTimeout)
		cmd := hookenv.Command(cctx, hook, append(env[:len(env):len(env)], "CERTCTL_EVENT_TYPE="+ev.DetailType)...)
		cmd.Stdin = bytes.NewReader(append(data, '\n'))
		cmd.Stdout = hookenv.Output(errOut)
		cmd.Stderr = cmd.Stdout
		cmd.WaitDelay = 2 * time.Second // a daemon the hook started may hold its output
		err := cmd.Run()
		switch {
		case err == nil, errors.Is(err, exec.ErrWaitDelay): // ErrWaitDelay: it exited 0
		case errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil && !hookAlways.Load():
			hookRestUntil.Store(time.Now().Add(HookRest).UnixNano())
			fmt.Fprintf(errOut, "certctl: event hook timed out after %s for %s (killed); not run again for %s\n", HookTimeout, ev.DetailType, HookRest)
		case errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
			fmt.Fprintf(errOut, "certctl: event hook timed out after %s for %s (killed)\n", HookTimeout, ev.DetailType)
		default:
			fmt.Fprintf(errOut, "certctl: event hook failed for %s: %v\n", ev.DetailType, err)
		}
		cancel()
	}
}

// ARN is the certificate ARN of an ID in the emitter's region and account.
func (e *Emitter) ARN(id string) string {
	return arn.Format(arn.Certificate, e.Region, e.Account, id)
}

// EmitAvailable appends a Certificate Available event for c with action
// (ISSUANCE, RENEWAL, IMPORT, REIMPORT).
func (e *Emitter) EmitAvailable(tx localstore.Tx, c *localstore.Certificate, action string) error {
	d := CertificateDetail(c, e.Now())
	d["Action"] = action
	return e.Emit(tx, Available, []string{e.ARN(c.ID)}, d)
}

// EmitRevoked appends a Certificate Revoked event for c.
func (e *Emitter) EmitRevoked(tx localstore.Tx, c *localstore.Certificate) error {
	d := CertificateDetail(c, e.Now())
	d["RevokedAt"] = c.RevokedAt.UTC().Truncate(time.Second).Format(time.RFC3339)
	d["RevocationReason"] = c.RevocationReason
	d["SerialNumber"] = c.Serial
	return e.Emit(tx, Revoked, []string{e.ARN(c.ID)}, d)
}

// EmitRevokedEarlier emits the Certificate Revoked event of rec, an
// earlier version of c (its record and current version stay as they
// were), revoked for reason: the detail names that version's serial and
// expiry, and CurrentVersion false. A hook or a SIEM then hears of every
// revocation of an ARN's certificates (tester: a key-compromise
// revocation of an earlier version, by ACME or ca revoke-certificate,
// emitted nothing).
func (e *Emitter) EmitRevokedEarlier(tx localstore.Tx, c *localstore.Certificate, rec *localstore.Serial, reason string) error {
	now := e.Now()
	d := CertificateDetail(c, now)
	d["RevokedAt"] = rec.RevokedAt.UTC().Truncate(time.Second).Format(time.RFC3339)
	d["RevocationReason"] = reason
	d["SerialNumber"] = rec.Serial
	d["CurrentVersion"] = false
	delete(d, "CertificateExpirationDate")
	d["DaysToExpiry"] = DaysToExpiry(rec.NotAfter, now)
	if !rec.NotAfter.IsZero() {
		d["CertificateExpirationDate"] = rec.NotAfter.UTC().Format(time.RFC3339)
	}
	return e.Emit(tx, Revoked, []string{e.ARN(c.ID)}, d)
}
