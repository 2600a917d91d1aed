// Package service is the layer every entry point calls — the CLI, the
// renewal pass (`renew --due`) and the ACME server (`endpoint serve`) — so
// that each rule of certctl exists once. Core is what every domain service
// shares: it owns the write transaction, the per-attempt event emitter, the
// audit record written in the same transaction as the change, the delivery
// of events to the hook after commit, and the mapping of store errors to
// certctl's exit codes.
//
// The domain services live beside it, one folder each:
//
//	certificates  request, import, reimport, export, revoke, delete, tags, list, search, describe
//	renewals      the due pass, one renewal, deploy targets
//	authorities   the private CAs (AWS Private CA): create, issue, revoke, CRL, lifecycle
//	endpoints     ACME endpoints, EAB credentials, domains, and the ACME server's changes
//	validations   domain validation of ISSUED-type certificates
//	reports       events, metrics, dashboard, account configuration
//	auditlog      `audit list` and `audit verify`
//
// Commands (pkg/commands) parse flags, make one call to one service and print
// what it returns; they never open a store transaction themselves.
package service

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/user"
	"slices"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/httpserve"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// Core is shared by the domain services of one process.
type Core struct {
	Vault *localstore.Vault
	// Now is the clock of every decision.
	Now func() time.Time
	// Names formats ARNs in the configured region and account.
	Names inventory.Names
	// Authority signs with the vault's CAs (its caches are per process).
	Authority *authority.Service
	// EventHook is the hooks.event command; HookOut receives its output
	// and its failures.
	EventHook string
	HookOut   io.Writer
	// Warnings receives what the user should know that fails nothing —
	// this host's audit witness that could not be written (nil: dropped).
	Warnings io.Writer
	// Actor is who the changes are recorded as made by.
	Actor audit.Actor
	// WriteGate, when set, admits one write transaction of this process at
	// a time, in arrival order (the ACME server's queue; see acmeserver).
	WriteGate chan struct{}
}

// UserActor is the OS user running this process on this host.
func UserActor() audit.Actor {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	return audit.Actor{Type: audit.ActorUser, ID: name, Host: Hostname()}
}

// Hostname is this host's name ("unknown" when it has none).
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

// As returns a copy of c whose changes are recorded as made by a.
func (c *Core) As(a audit.Actor) *Core {
	cc := *c
	cc.Actor = a
	return &cc
}

// Op is one attempt of a change: its transaction, its event emitter and its
// audit record. A store may run an attempt again (PostgreSQL does after a
// serialization conflict); each attempt gets a fresh Op.
type Op struct {
	Tx     localstore.Tx
	Events *events.Emitter
	Now    time.Time
	rec    *audit.Record
	sealer *localstore.Sealer
	// failCode, when set, records the committed change as a FAILURE
	// with this code and failMsg (see Failed).
	failCode, failMsg string
}

// Revoke revokes c — its serial at its CA and its record — and emits its
// Certificate Revoked event: the one way a certificate of the inventory
// is revoked (revoke, ca revoke-certificate, ACME's revokeCert).
// keyProven: whether the requester proved the key compromised (see
// inventory.RevokeSerialVia).
func (o *Op) Revoke(c *localstore.Certificate, reason string, code int, keyProven bool) error {
	if err := inventory.RevokeVia(o.Tx, c, reason, code, o.Now, keyProven); err != nil {
		return err
	}
	return o.Events.EmitRevoked(o.Tx, c)
}

// RevokedEarlier emits the Certificate Revoked event of serial of CA caID,
// an earlier version of c that the change has just revoked (by
// inventory.RevokeSerialVia or authority.Revoke): revoking an earlier
// version changes neither c's record nor its current version, and is
// told all the same.
func (o *Op) RevokedEarlier(c *localstore.Certificate, caID, serial, reason string) error {
	rec, err := o.Tx.GetSerial(caID, serial)
	if err != nil {
		return err
	}
	return o.Events.EmitRevokedEarlier(o.Tx, c, rec, reason)
}

// DropResource takes arn back from the resources of op's record: what the
// change was to make, when it made nothing (a refused request names no
// certificate that never existed — tester).
func (o *Op) DropResource(arn string) {
	o.rec.Resources = slices.DeleteFunc(o.rec.Resources, func(a string) bool { return a == arn })
}

// Failed records the change, which commits what it did, as a FAILURE with
// the error code code: a change whose transaction records an attempt that
// failed outside it (a deploy target whose files could not be written or
// whose command failed — tester: such attempts read as successes), and
// message, which never holds a secret, as its ErrorMessage (messages of
// several failures are joined). A
// change refused by a rule is recorded so by returning its error instead,
// which rolls it back.
func (o *Op) Failed(code, message string) {
	o.failCode = code
	if message != "" {
		if o.failMsg != "" {
			o.failMsg += "; "
		}
		o.failMsg += message
	}
}

// FailedWith is Failed for a refusal the change keeps a record of — a
// request whose certificate is stored FAILED, as ACM keeps it: recorded
// with err's code
// (errs.CodeNameOf: the FailureReason a refusal carries) and message, as
// a refusal that rolls the change back is (recordFailure), while what the
// change did commits.
func (o *Op) FailedWith(err error) {
	if err != nil {
		o.Failed(errs.CodeNameOf(err), err.Error())
	}
}

// settle sets the outcome of the record of a change that commits.
func (o *Op) settle() {
	if o.failCode != "" {
		o.rec.Outcome, o.rec.ErrorCode, o.rec.ErrorMessage = audit.OutcomeFailure, o.failCode, o.failMsg
		return
	}
	o.rec.Outcome = audit.OutcomeSuccess
}

// Sealer is the vault's key the change runs under: checked, in its
// transaction, to be the key the store is sealed under (CheckSealer). A
// change that seals or opens a secret takes it here, not before the
// change: a key taken before may be one that another process's rotation
// has replaced meanwhile.
func (o *Op) Sealer() *localstore.Sealer { return o.sealer }

// Certificate resolves ref (an ARN, UUID or unique prefix; use gives the
// hint for a CA's or an endpoint's) to a certificate in op's transaction
// and names its ARN as the change's resource. A ref that names no
// certificate is recorded as given, as the CertificateArn parameter.
func (c *Core) Certificate(op *Op, ref string, use inventory.Use) (*localstore.Certificate, string, error) {
	id, err := inventory.ResolveCertificate(op.Tx, c.Names, ref, use)
	if err != nil {
		op.Param("CertificateArn", ref)
		return nil, "", err
	}
	arn := c.Names.CertificateARN(id)
	op.Resource(arn)
	cert, err := op.Tx.GetCertificate(id)
	if err != nil {
		return nil, "", err
	}
	return cert, arn, nil
}

// Resource names a resource (an ARN) the change concerns.
func (o *Op) Resource(arns ...string) {
	for _, a := range arns {
		if a == "" {
			continue
		}
		dup := false
		for _, have := range o.rec.Resources {
			if have == a {
				dup = true
				break
			}
		}
		if !dup {
			o.rec.Resources = append(o.rec.Resources, a)
		}
	}
}

// Param records a request parameter. Never pass a secret; names that look
// secret are redacted anyway (audit.Scrub).
func (o *Op) Param(name string, value any) {
	if o.rec.RequestParameters == nil {
		o.rec.RequestParameters = map[string]any{}
	}
	o.rec.RequestParameters[name] = value
}

// ActAs records the change as made by the actor of the same type and host
// whose ID is id, from now on: for a change whose actor exists only once
// it succeeds (a new ACME account), recorded until then, and when refused,
// as who asked for it.
func (o *Op) ActAs(id string) { o.rec.Actor.ID = id }

// Rename changes the recorded API name (for a change whose name is known
// only once it runs, such as a re-issue).
func (o *Op) Rename(eventName string) { o.rec.EventName = eventName }

// Change runs fn as one recorded change named eventName (the AWS API name:
// RequestCertificate, RevokeCertificate, …) in one write transaction:
// fn's work, its events and its audit record commit together or not at
// all. A change that fails on a rule (not found, invalid input, refused by
// state) is recorded as a FAILURE in a transaction of its own. Events are
// delivered to the hook after commit. The error returned carries an exit
// code.
//
// Changes that arrive while another transaction of this process is being
// written are committed together, as one transaction with one fsync
// (group commit, see group.go): Change returns only once the transaction
// that holds its change is durable, and a change that fails is run again
// alone, so that it fails only itself.
func (c *Core) Change(ctx context.Context, eventName string, fn func(*Op) error) error {
	return c.change(ctx, eventName, fn, true)
}

// ChangeOnce is Change without the second attempt after another process's
// key rotation (see rotatedAway): for a change that works with key
// material taken before it (vault migrate records the key its copy is
// sealed under; change-passphrase wraps the key it holds), which run again
// would use the replaced key. Refused so, it fails with
// localstore.ErrKeyRotated ("run the command again"), nothing written.
func (c *Core) ChangeOnce(ctx context.Context, eventName string, fn func(*Op) error) error {
	return c.change(ctx, eventName, fn, false)
}

func (c *Core) change(ctx context.Context, eventName string, fn func(*Op) error, again bool) error {
	chs := []*change{{c: c, ctx: ctx, name: eventName, fn: fn}}
	c.commit(ctx, chs)
	if again && rotatedAway(chs[0]) {
		chs = []*change{{c: c, ctx: ctx, name: eventName, fn: fn}}
		c.commit(ctx, chs)
	}
	chs[0].repanic()
	c.Deliver(ctx, chs[0].events)
	return chs[0].err
}

// ChangeBatch runs several changes of the same name in one write
// transaction — one commit (one fsync) for all — each with its own Op and
// audit record. When one of them fails, the transaction is rolled back,
// the failed change runs again alone (so that a failure costs only its
// item and is recorded as a FAILURE) and the others again together.
// errs[i] is fns[i]'s outcome.
func (c *Core) ChangeBatch(ctx context.Context, eventName string, fns []func(*Op) error) []error {
	out := make([]error, len(fns))
	if len(fns) == 0 {
		return out
	}
	chs := make([]*change, len(fns))
	for i, fn := range fns {
		chs[i] = &change{c: c, ctx: ctx, name: eventName, fn: fn}
	}
	c.commit(ctx, chs)
	var again []*change
	for i, ch := range chs {
		if rotatedAway(ch) {
			chs[i] = &change{c: c, ctx: ctx, name: eventName, fn: fns[i]}
			again = append(again, chs[i])
		}
	}
	if len(again) > 0 {
		c.commit(ctx, again)
	}
	for _, ch := range chs {
		ch.repanic()
	}
	var pending []*events.Event
	for i, ch := range chs {
		out[i] = ch.err
		pending = append(pending, ch.events...)
	}
	c.Deliver(ctx, pending)
	return out
}

// rotatedAway reports whether ch was refused because another process
// rotated the vault's master key (localstore.ErrKeyRotated). Such a change
// was refused before its function ran, nothing written, and this process's
// stale key was dropped: Change and ChangeBatch run it once more, under the
// new key, so that a command (a cron renew --due, an export whose key is
// already delivered and only its record is left) does not fail because an
// administrator rotated the key meanwhile. A function given to Change
// takes its key material in its transaction (Op.Sealer, Vault.OpenKey),
// never before, so that run again it runs under the new key; a caller
// that cannot uses ChangeOnce.
func rotatedAway(ch *change) bool {
	return ch.ctx.Err() == nil && errors.Is(ch.err, localstore.ErrKeyRotated)
}

// change is one change waiting for, or taking part in, a commit.
type change struct {
	c    *Core
	ctx  context.Context
	name string
	fn   func(*Op) error
	// err and events are its outcome: events to deliver once committed.
	err    error
	events []*events.Event
	// wake receives true when this change is to lead the next commit of
	// its group, false when its outcome is set.
	wake chan bool
	// panicked is what fn panicked with, if it did: the panic is raised
	// again in the caller's goroutine, not in the leader's, which may be
	// another caller's (and the group goes on).
	panicked any
}

// errPanicked is the outcome of a change whose function panicked.
var errPanicked = errors.New("the change panicked")

// call runs ch's function, turning a panic into errPanicked, and names
// the built-in CAs it created on first use as resources of its record.
func (ch *change) call(op *Op) (err error) {
	ch.panicked = nil
	defer func() {
		if p := recover(); p != nil {
			ch.panicked = p
			err = errPanicked
		}
		if a := ch.c.Authority; a != nil {
			for _, id := range a.TakeCreated(op.Tx) {
				arn := ch.c.Names.CAARN(id)
				if err == nil {
					op.Resource(arn)
					continue
				}
				// Rolled back with the change: its failure record
				// names no CA that never came to be (one its function
				// named, resolving "default", among them).
				op.rec.Resources = slices.DeleteFunc(op.rec.Resources, func(r string) bool { return r == arn })
			}
		}
	}()
	return ch.fn(op)
}

// repanic raises the panic of ch's function in the caller's goroutine.
func (ch *change) repanic() {
	if ch.panicked != nil {
		panic(ch.panicked)
	}
}

// run commits chs (the changes of one group, in arrival order): in one
// transaction when they all succeed; otherwise the one that failed runs
// alone and the changes before and after it are committed again together.
//
// sealer is the vault's key the leader took before the write gate: each
// transaction first checks that it is still the vault's (CheckSealer), so
// that no audit record is MACed under a key that another process's
// rotation replaced meanwhile.
func (c *Core) run(ctx context.Context, sealer *localstore.Sealer, chs []*change, w *witnessed) {
	if len(chs) == 1 {
		c.runAlone(sealer, chs[0], w)
		return
	}
	key := sealer.AuditKey()
	var last *audit.Record
	failed := -1
	err := c.write(ctx, sealer, func(tx localstore.Tx, tail *audit.Tail) error {
		failed = -1
		now := c.Now().UTC()
		for i, ch := range chs {
			op := ch.c.newOp(tx, sealer, now, ch.name)
			if err := ch.call(op); err != nil {
				failed = i
				return err
			}
			op.settle()
			if err := audit.AppendAfter(tx, key, op.rec, now, tail); err != nil {
				return err
			}
			last = op.rec
			ch.events = op.Events.Pending
		}
		return tail.Flush(tx, key)
	})
	if err == nil {
		w.note(key, last)
		for _, ch := range chs {
			ch.err = nil
		}
		return
	}
	for _, ch := range chs {
		ch.events = nil
	}
	if ctx.Err() != nil || errors.Is(err, localstore.ErrKeyRotated) {
		// Cancelled, or refused before any change ran (the vault's key
		// was rotated by another process): the same outcome for each,
		// not each run alone under the key refused.
		for _, ch := range chs {
			ch.err = MapError(err)
		}
		return
	}
	if failed < 0 {
		// Not one change's doing (the commit, the audit log): each alone.
		for _, ch := range chs {
			c.runAlone(sealer, ch, w)
		}
		return
	}
	c.run(ctx, sealer, chs[:failed], w)
	c.runAlone(sealer, chs[failed], w)
	c.run(ctx, sealer, chs[failed+1:], w)
}

// runAlone commits ch in a transaction of its own, recording a rule
// failure as a FAILURE. The record appended is noted in w.
func (c *Core) runAlone(sealer *localstore.Sealer, ch *change, w *witnessed) {
	var op *Op
	ctx := ch.ctx
	key := sealer.AuditKey()
	err := c.write(ctx, sealer, func(tx localstore.Tx, tail *audit.Tail) error {
		op = ch.c.newOp(tx, sealer, c.Now().UTC(), ch.name)
		if err := ch.call(op); err != nil {
			return err
		}
		op.settle()
		if err := audit.AppendAfter(tx, key, op.rec, op.Now, tail); err != nil {
			return err
		}
		return tail.Flush(tx, key)
	})
	if err != nil {
		err = MapError(err)
		if op != nil && isRuleFailure(err) {
			w.note(key, ch.c.recordFailure(ctx, sealer, op.rec, err))
		}
		ch.err, ch.events = err, nil
		return
	}
	w.note(key, op.rec)
	ch.err, ch.events = nil, op.Events.Pending
}

// write runs fn in a write transaction through the write gate, after
// checking in it that sealer, the key the change took before the gate, is
// still the vault's (localstore.Vault.CheckSealer): refused with
// ErrKeyRotated, nothing written, when another process rotated it. fn
// appends its audit records through tail and flushes it: tail carries
// this host's witness of the chain, read before the transaction begins
// (audit.Witness.Held), so that nothing is appended to a log rolled back
// or cut behind the record it names.
func (c *Core) write(ctx context.Context, sealer *localstore.Sealer, fn func(tx localstore.Tx, tail *audit.Tail) error) error {
	seen := audit.WitnessOf(c.Vault).Held()
	return c.gated(ctx, func() error {
		return c.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
			if err := c.Vault.CheckSealer(sealer); err != nil {
				return err
			}
			return fn(tx, &audit.Tail{Witnessed: seen})
		})
	})
}

// Witnessed is this host's witness of the audit log, for CheckRecordable:
// read before the read transaction begins, as a write reads it before its
// transaction (Core.write), so that the transaction sees at least the
// record it names — read inside it, another process's record, noted
// after its commit but after this snapshot too, made the log look rolled
// back (tester: exports failed, exit 6, next to other writers).
func (c *Core) Witnessed() audit.Seen { return audit.WitnessOf(c.Vault).Held() }

// CheckRecordable checks in tx, writing nothing, that a change could be
// recorded now (audit.CheckEnd) against seen (Witnessed, read before tx
// began): for what is handed out before its record is written (a key
// export), so that a log that refuses every change refuses it first
// instead of letting it out unrecorded.
//
// The log's end is checked under the key tx's snapshot is sealed under
// (Vault.SnapshotSealer), not the one this process loaded: after another
// host rotated the master key, the head is MACed under the new key, and
// checked under the old one it read as altered (team tester: a bulk
// export on one host while another rotated the key failed 42 of 62
// certificates with "the audit log's end was changed outside certctl").
// A rotation committed after the snapshot began is ErrKeyRotated: run the
// command again.
func (c *Core) CheckRecordable(tx localstore.Tx, seen audit.Seen) error {
	sealer, err := c.Vault.SnapshotSealer(tx)
	if err != nil {
		return MapError(err)
	}
	return audit.CheckEnd(tx, sealer.AuditKey(), seen)
}

// Unrecorded runs fn in a write transaction, through the write gate,
// with no audit record and no event: for what a server keeps for itself
// and changes nothing anyone did (the responder's CRL publications, as
// the ACME server's nonce redemptions).
func (c *Core) Unrecorded(ctx context.Context, fn func(localstore.Tx) error) error {
	return c.gated(ctx, func() error { return c.Vault.Store.Update(ctx, fn) })
}

// Responder is the CRL and OCSP responder of every CA of the vault
// (`ca serve`, and `endpoint serve` beside its ACME API): /crl/<ca-uuid>.crl
// and /ocsp, in a read transaction per request. It writes only the number
// and date of the CRLs it signs (Unrecorded), so that the servers of one
// store serve the same. Its failures (the vault's, a PKCS#11 token that is
// down, a record the store refused) go to logf when not nil.
func (c *Core) Responder(logf func(format string, a ...any)) http.Handler {
	lookup := c.Authority.NewLookup(func(fn func(localstore.Tx) error) error {
		return c.Vault.Store.View(context.Background(), fn)
	}, func(fn func(localstore.Tx) error) error {
		return c.Unrecorded(context.Background(), fn)
	}, logf)
	// The CRL and OCSP URLs of ca.base_url may have a path: served under
	// it too, as behind a proxy that strips it.
	return httpserve.UnderBasePath(httpserve.BasePath(c.Authority.BaseURL), casign.NewResponder(lookup, c.Now, logf))
}

// gated runs fn through the write gate, when there is one.
func (c *Core) gated(ctx context.Context, fn func() error) error {
	if c.WriteGate != nil {
		select {
		case c.WriteGate <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-c.WriteGate }()
	}
	return fn()
}

func (c *Core) newOp(tx localstore.Tx, sealer *localstore.Sealer, now time.Time, eventName string) *Op {
	return &Op{
		Tx:     tx,
		sealer: sealer,
		Events: &events.Emitter{Region: c.Names.Region, Account: c.Names.Account, Now: c.Now},
		Now:    now,
		rec:    &audit.Record{EventName: eventName, Actor: c.Actor},
	}
}

// Recorded marks err, returned by a change's function, as a failure the
// audit log records (a FAILURE record with err's message) although no rule
// refused the change: an outcome the caller knows the change must not
// claim, such as a key export whose files could not be written. Nothing
// of the change is kept, as for any error; the exit code is err's.
func Recorded(err error) error {
	if err == nil {
		return nil
	}
	return &recordedError{err}
}

type recordedError struct{ err error }

func (e *recordedError) Error() string { return e.err.Error() }
func (e *recordedError) Unwrap() error { return e.err }

// Refused records err, a refusal found outside a change — by a check made
// before the change's transaction, or by the vault layer for an operation
// that is no Change (a key rotation) — as a FAILURE of the change named
// eventName, with the resources and request parameters params names (nil:
// none), as Change records a refusal inside one; it returns err mapped
// (MapError). An error that is no refusal on a rule (isRuleFailure: exit
// 3, 4 or 5; a vault that is locked or unavailable cannot record) is
// returned unrecorded, and so is the refusal when recording it fails.
func (c *Core) Refused(ctx context.Context, eventName string, err error, params func(*Op)) error {
	err = MapError(err)
	if err == nil || !isRuleFailure(err) {
		return err
	}
	_ = c.Change(ctx, eventName, func(op *Op) error {
		if params != nil {
			params(op)
		}
		return err
	})
	return err
}

// isRuleFailure reports whether err is a refusal worth recording: the
// change was asked for and a rule said no (or its function asked for the
// failure to be recorded, Recorded).
func isRuleFailure(err error) bool {
	var rec *recordedError
	if errors.As(err, &rec) {
		return true
	}
	switch errs.ExitCodeOf(err) {
	case errs.ExitNotFound, errs.ExitInvalid, errs.ExitRefused:
		return true
	}
	return false
}

// recordFailure appends rec as a FAILURE and returns the record appended
// (nil when it could not be). The change itself already failed; a failure
// to record it is not reported over the change's own error.
func (c *Core) recordFailure(ctx context.Context, sealer *localstore.Sealer, rec *audit.Record, cause error) *audit.Record {
	fail := *rec
	fail.Outcome = audit.OutcomeFailure
	fail.ErrorCode = errs.CodeNameOf(cause)
	fail.ErrorMessage = cause.Error()
	wctx := context.WithoutCancel(ctx)
	var out *audit.Record
	err := c.write(wctx, sealer, func(tx localstore.Tx, tail *audit.Tail) error {
		r := fail
		r.EventID = ""
		if err := audit.AppendAfter(tx, sealer.AuditKey(), &r, c.Now(), tail); err != nil {
			return err
		}
		out = &r
		return tail.Flush(tx, sealer.AuditKey())
	})
	if err != nil {
		return nil
	}
	return out
}

// Read runs fn in a read transaction and maps its error. The first read
// of a process (Vault.ReadChecked) also refuses (exit 6) a store whose
// audit log is empty while this host's witness names a record of it
// (audit.CheckNotEmptied): a deleted or truncated database, which SQLite
// would otherwise make anew and every read show as an empty vault (a cron
// job's renew --due reporting success). Writes check more, in every
// transaction (audit.Tail).
func (c *Core) Read(ctx context.Context, fn func(tx localstore.Tx) error) error {
	checked := &c.Vault.ReadChecked
	if checked.Load() {
		return MapError(c.Vault.Store.View(ctx, fn))
	}
	// The witness is read before the transaction begins (audit.Witness.Seen).
	seen := audit.WitnessOf(c.Vault).Held()
	err := c.Vault.Store.View(ctx, func(tx localstore.Tx) error {
		if err := audit.CheckNotEmptied(tx, seen); err != nil {
			return err
		}
		return fn(tx)
	})
	if err == nil {
		checked.Store(true)
	}
	return MapError(err)
}

// Deliver runs the event hook for committed events (Change does this
// itself; callers with events of their own transactions use it).
func (c *Core) Deliver(ctx context.Context, evs []*events.Event) {
	if len(evs) == 0 || c.EventHook == "" {
		return
	}
	out := c.HookOut
	if out == nil {
		out = io.Discard
	}
	var env []string
	if c.Vault != nil {
		env = c.Vault.HookEnv()
	}
	events.Deliver(ctx, c.EventHook, evs, out, env...)
}

// MapError maps an error from the vault layer to its exit code with a
// message that helps; errors already carrying a code keep it, and any
// other is an unexpected failure (exit 1).
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := KnownError(err); ok {
		return e
	}
	return &errs.Error{Exit: errs.ExitFailure, Err: err}
}

// deletedMeanwhile is the vault layer's bare not found, met after what a
// command names was resolved: deleted meanwhile. It is still
// localstore.ErrNotFound to errors.Is, so that a caller of Read or Change
// that goes on past a record deleted meanwhile sees it as one (review:
// the renewal pass's check never matched, and a certificate deleted
// between its renewal and its install stopped the pass).
type deletedMeanwhile struct{}

func (deletedMeanwhile) Error() string { return "not found: deleted meanwhile, by another certctl?" }

func (deletedMeanwhile) Is(target error) bool { return target == localstore.ErrNotFound }

// KnownError is MapError's mapping of the errors it knows (ok false for
// any other): a code the error carries, an interruption, the vault
// layer's not found, locked, wrong passphrase, corrupt and storage errors.
func KnownError(err error) (error, bool) {
	var ce *errs.Error
	var keyInUse *localstore.KeyInUseError
	var unsafe *fsutil.UnsafeError
	var untrusted *fsutil.UntrustedPathError
	switch {
	case err == nil:
		return nil, false
	case errors.As(err, &ce):
		return err, true
	case errors.Is(err, context.Canceled):
		return &errs.Error{Exit: errs.ExitFailure, Msg: "interrupted"}, true
	case errors.Is(err, localstore.ErrNotFound):
		// What a command names is resolved with a message of its own
		// first: a record missing after that was deleted meanwhile.
		if err == localstore.ErrNotFound {
			return &errs.Error{Exit: errs.ExitNotFound, Err: deletedMeanwhile{}}, true
		}
		return &errs.Error{Exit: errs.ExitNotFound, Err: err}, true
	case errors.Is(err, localstore.ErrLocked):
		return errs.VaultErrorf("the vault is locked").WithHint("set CERTCTL_VAULT_PASSPHRASE, pass --vault-passphrase-file, or type it when a terminal asks for it"), true
	case errors.Is(err, localstore.ErrPassphraseLines):
		return errs.Invalidf("--vault-passphrase-file holds more than one line: a new vault's passphrase is one line (openssl -passin file: reads only the first)"), true
	case errors.Is(err, localstore.ErrEmptyPassphrase):
		return errs.Invalidf("the vault passphrase is empty: a vault's key is not wrapped under an empty passphrase").
			WithHint("give --vault-passphrase-file a file whose first line is the passphrase (or no passphrase, for a key in clear)"), true
	case errors.Is(err, localstore.ErrWrongPassphrase):
		// What the vault layer adds says why (another machine changed
		// the shared store's passphrase).
		e := errs.VaultErrorf("%v", err)
		if err.Error() == localstore.ErrWrongPassphrase.Error() {
			// Nothing more is known: say where a passphrase comes from
			// and what changes it.
			e = e.WithHint("give the vault's current passphrase (--vault-passphrase-file or CERTCTL_VAULT_PASSPHRASE); `certctl vault change-passphrase` changes it, on a shared store for every machine")
		}
		return e, true
	case errors.Is(err, localstore.ErrLostDatabase), errors.Is(err, localstore.ErrRestoreInterrupted):
		return errs.VaultErrorf("%v", err), true
	case errors.Is(err, localstore.ErrCorrupt):
		return &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: "vault unavailable", Err: err}, true
	case errors.As(err, &unsafe):
		return errs.VaultErrorf("refusing the vault: %v", unsafe).WithHint("%s", unsafe.Fix), true
	case errors.As(err, &untrusted):
		// An output path another user could have made lead elsewhere:
		// the path given is refused (exit 4).
		return (&errs.Error{Exit: errs.ExitInvalid, Err: err}).WithHint("%s", untrusted.Fix), true
	case errors.As(err, &keyInUse):
		return errs.Refusedf("%v", keyInUse).
			WithHint("use another vault directory (--vault DIR) for this store, or move %s away first", keyInUse.Path), true
	case errors.Is(err, localstore.ErrUnsupportedStore):
		// The user's URL, not the store: invalid input (a store that
		// cannot be reached is exit 6 below).
		return errs.Invalidf("%v", err).WithHint("check the store URL (--store or CERTCTL_STORE)"), true
	case localstore.IsStorageError(err):
		e := &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: "vault unavailable", Err: err}
		if h := localstore.StoreHint(err); h != "" {
			e = e.WithHint("%s", h)
		}
		return e, true
	}
	return nil, false
}
