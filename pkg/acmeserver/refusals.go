package acmeserver

import (
	"container/list"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/service"
)

// refusalWindow is how often the same refusal of one account is recorded.
const refusalWindow = time.Minute

// refusalLimiterMax bounds the refusals a refusalLimiter keeps.
const refusalLimiterMax = 4096

// refusalTargetsMax bounds the targets (resources, params) of one
// account's refusals of one kind (change and problem type) that a window
// tells apart: past it, a refusal of a new target is counted under the
// kind alone, whose record says OtherTargets instead of naming them. The
// target is the client's to choose — the serial of any certificate it
// sends, any account ID it names — and keyed by it alone, every refused
// request of one account could make a record of its own (review).
const refusalTargetsMax = 8

// refusalFlushMin is the shortest wait of the flush timer: refusals whose
// windows end within it are recorded by one pass.
const refusalFlushMin = time.Second

// refusalParam is a request parameter of a refusal's record that names
// what the request aimed at (a revocation's Serial).
type refusalParam struct{ Name, Value string }

// refusal is a refused request to record (see recordRefusal): the change
// event asked for by account, refused with problem, aimed at resources
// and params.
type refusal struct {
	account, event string
	problem        *Problem
	resources      []string
	params         []refusalParam
}

// key is what tells two refusals apart: what their records say — the
// account, the change, the problem type, the resources and params (what
// the request aimed at) — so that a record with its count stands for
// the refusals counted. The same key within refusalWindow is the same
// refusal again.
func (rf *refusal) key() string {
	var b strings.Builder
	for _, f := range []string{rf.account, rf.event, rf.problem.Type} {
		b.WriteString(f)
		b.WriteByte(0)
	}
	for _, r := range rf.resources {
		b.WriteString(r)
		b.WriteByte(0)
	}
	b.WriteByte(1)
	for _, p := range rf.params {
		b.WriteString(p.Name)
		b.WriteByte('=')
		b.WriteString(p.Value)
		b.WriteByte(0)
	}
	return b.String()
}

// kind is what the refusal's key holds but its targets: the account,
// the change, the problem type.
func (rf *refusal) kind() string {
	return rf.account + "\x00" + rf.event + "\x00" + rf.problem.Type
}

// targeted reports whether the refusal names what it aimed at.
func (rf *refusal) targeted() bool { return len(rf.resources) > 0 || len(rf.params) > 0 }

// untargeted is rf counted under its kind alone (refusalTargetsMax).
func (rf *refusal) untargeted() *refusal {
	return &refusal{account: rf.account, event: rf.event, problem: rf.problem,
		params: []refusalParam{{Name: "OtherTargets", Value: "true"}}}
}

// pendingRefusal is a record to write: refusal rf, left out again times
// since the last record of the same refusal.
type pendingRefusal struct {
	rf    *refusal
	again int
}

// refusalLimiter bounds the audit records an account's refused requests
// make: an account — a deactivated one too, which the administrator
// deactivated to stop it — that sends the same refused request in a loop
// (no rate limit counts a request refused before its change) would
// otherwise add a record each time, on every server of the store (review).
// The first refusal is recorded; the same refusal (refusal.key: account,
// change, problem type, resources, params) again within
// refusalWindow is answered unrecorded and counted. Nothing is lost: the
// count is recorded (RefusedAgain, with the last refusal counted) by the
// next refusal of the key once the window ended, or else at the window's
// end by the flush timer, or when the limiter is full and the key the
// oldest, or when the server closes (Server.Close) — whichever comes
// first. The log grows by at most about one record a window and key.
//
// The keys are a map and a list ordered by the start of their window,
// oldest first: a request does O(1) work. When it holds refusalLimiterMax
// keys, a new key evicts the oldest, whose count, if any, is recorded
// first (review: the whole map was scanned for each new key, and counts
// were dropped). Each process keeps its own.
type refusalLimiter struct {
	mu    sync.Mutex
	byKey map[string]*list.Element // of *refusalEntry
	order list.List                // of *refusalEntry, oldest window first
	// kinds counts, by refusal.kind, the targets told apart in the
	// kind's window and the keys of the kind kept (refs): a kind is
	// forgotten with its last key, so there are never more than keys.
	kinds map[string]*refusalKind
	// pending is the number of keys with a count not recorded yet.
	pending int
	// max bounds the keys (0: refusalLimiterMax; tests set less).
	max int
	// flush is what the timer runs (Server.flushRefusals); armed says
	// that it is set to.
	flush func()
	timer *time.Timer
	armed bool
	// flushing counts the flushes writing their records (Close waits).
	flushing sync.WaitGroup
	// closed: every refusal is recorded, none counted (Server.Close).
	closed bool
}

// refusalKind is a kind's window (see refusalTargetsMax).
type refusalKind struct {
	start   time.Time
	targets int
	refs    int
}

type refusalEntry struct {
	key  string
	kind string
	// at is when the window began: the key's last record.
	at      time.Time
	skipped int
	// last is the last refusal counted, recorded with the count.
	last *refusal
}

// allow reports whether refusal rf at now is to be recorded, and how many
// of the same were left out since the last record; evicted, when not nil,
// is the count of the oldest key, evicted to make room, to record first.
// A refusal of a new target past refusalTargetsMax is made untargeted in
// place: rf is then what is to be recorded.
func (l *refusalLimiter) allow(rf *refusal, now time.Time) (record bool, again int, evicted *pendingRefusal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return true, 0, nil
	}
	if l.byKey == nil {
		l.byKey, l.kinds = map[string]*list.Element{}, map[string]*refusalKind{}
	}
	key := rf.key()
	el, ok := l.byKey[key]
	kind := rf.kind()
	k := l.kinds[kind]
	if !ok && rf.targeted() {
		if k == nil || now.Sub(k.start) >= refusalWindow {
			if k == nil {
				k = &refusalKind{}
				l.kinds[kind] = k
			}
			k.start, k.targets = now, 0
		}
		if k.targets >= refusalTargetsMax {
			*rf = *rf.untargeted() // what the caller records, too
			key = rf.key()
			el, ok = l.byKey[key]
		} else {
			k.targets++
		}
	}
	if ok {
		e := el.Value.(*refusalEntry)
		if now.Sub(e.at) < refusalWindow {
			if e.skipped == 0 {
				l.pending++
			}
			e.skipped++
			e.last = rf
			l.arm(now)
			return false, 0, nil
		}
		// The window ended before the flush timer recorded its count:
		// this record carries it.
		again = e.skipped
		if again > 0 {
			l.pending--
		}
		e.at, e.skipped, e.last = now, 0, nil
		l.order.MoveToBack(el)
		return true, again, nil
	}
	max := l.max
	if max <= 0 {
		max = refusalLimiterMax
	}
	for l.order.Len() >= max {
		if p := l.remove(l.order.Front()); p != nil {
			evicted = p
		}
	}
	if k = l.kinds[kind]; k == nil { // evicted above with its last key
		k = &refusalKind{start: now}
		l.kinds[kind] = k
	}
	k.refs++
	l.byKey[key] = l.order.PushBack(&refusalEntry{key: key, kind: kind, at: now})
	return true, 0, evicted
}

// remove forgets the key of el, returning its count to record, if any.
func (l *refusalLimiter) remove(el *list.Element) *pendingRefusal {
	e := l.order.Remove(el).(*refusalEntry)
	delete(l.byKey, e.key)
	if k := l.kinds[e.kind]; k != nil {
		if k.refs--; k.refs <= 0 {
			delete(l.kinds, e.kind)
		}
	}
	if e.skipped == 0 {
		return nil
	}
	l.pending--
	return &pendingRefusal{rf: e.last, again: e.skipped}
}

// arm sets the flush timer, unless set, to the end of the oldest window
// when a count waits to be recorded. Called with l.mu held.
func (l *refusalLimiter) arm(now time.Time) {
	if l.armed || l.closed || l.pending == 0 || l.flush == nil {
		return
	}
	d := refusalWindow - now.Sub(l.order.Front().Value.(*refusalEntry).at)
	if d < refusalFlushMin {
		d = refusalFlushMin
	}
	l.armed = true
	if l.timer == nil {
		l.timer = time.AfterFunc(d, l.flush)
	} else {
		l.timer.Reset(d)
	}
}

// due takes, at now, the counts of the windows that ended: their records
// to write, which begin a new window of their keys; keys with no count
// are forgotten. Unless ok is false (l is closed: drain took them all),
// the caller writes them, then calls l.flushing.Done.
func (l *refusalLimiter) due(now time.Time) (out []pendingRefusal, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = false
	if l.closed {
		return nil, false
	}
	for el := l.order.Front(); el != nil; el = l.order.Front() {
		e := el.Value.(*refusalEntry)
		if now.Sub(e.at) < refusalWindow {
			break
		}
		if e.skipped == 0 {
			l.remove(el)
			continue
		}
		out = append(out, pendingRefusal{rf: e.last, again: e.skipped})
		l.pending--
		e.at, e.skipped, e.last = now, 0, nil
		l.order.MoveToBack(el)
	}
	l.flushing.Add(1)
	l.arm(now)
	return out, true
}

// drain closes l: it stops the flush timer and returns every count not
// recorded yet, its window ended or not; from then on every refusal is
// recorded.
func (l *refusalLimiter) drain() []pendingRefusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
	}
	var out []pendingRefusal
	for el := l.order.Front(); el != nil; el = l.order.Front() {
		if p := l.remove(el); p != nil {
			out = append(out, *p)
		}
	}
	return out
}

// flushRefusals records the counts of the refusal windows that ended (see
// refusalLimiter): what the flush timer runs.
func (s *Server) flushRefusals() {
	due, ok := s.refusals.due(s.core.Now())
	if !ok {
		return
	}
	defer s.refusals.flushing.Done()
	s.recordRefusals(context.Background(), due...)
}

// Close records the refused requests counted and not recorded yet (see
// refusalLimiter) and stops the timer that records them; every refusal
// after it is recorded. `endpoint serve` calls it once the server stopped
// taking requests.
func (s *Server) Close() {
	s.recordRefusals(context.Background(), s.refusals.drain()...)
	s.refusals.flushing.Wait()
}

// recordRefusals writes the records of refusals counted.
func (s *Server) recordRefusals(ctx context.Context, ps ...pendingRefusal) {
	for _, p := range ps {
		_ = s.writeRefusal(ctx, p.rf, p.again)
	}
}

// writeRefusal records refusal rf, with the count of the same left out
// before it (RefusedAgain, when not 0), and returns the refusal's error
// (service.Core.Refused).
func (s *Server) writeRefusal(ctx context.Context, rf *refusal, again int) error {
	ctx, cancel := storeWait(ctx)
	defer cancel()
	return s.as(rf.account).Refused(ctx, rf.event, refuse(rf.problem), func(op *service.Op) {
		op.Resource(rf.resources...)
		for _, p := range rf.params {
			op.Param(p.Name, p.Value)
		}
		if again > 0 {
			op.Param("RefusedAgain", again)
		}
	})
}
