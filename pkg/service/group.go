package service

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
)

// Group commit. The changes of one process to one vault queue in a group;
// one of the callers at a time leads: it takes every change queued so far
// (its own among them), commits them in one write transaction (Core.run),
// hands the lead to the first change queued meanwhile, and returns. While
// a leader writes and waits for its fsync, the other callers queue, so a
// busy process (the ACME server's finalizes, concurrent `ca issue` calls
// of one process) pays one fsync for many changes, and a lone change (a
// CLI command) is committed at once, as before. A caller returns only once
// the transaction holding its change has committed (or failed).

// groupKey is what the changes of one group share: the vault and the write
// gate their transactions go through.
type groupKey struct {
	vault *localstore.Vault
	gate  chan struct{}
}

// group is the queue of one groupKey.
type group struct {
	key     groupKey
	queue   []*change
	leading bool // a caller is committing
	// witness is written by the leader (under groupsMu only to hand it on).
	witness witnessed
}

var (
	groupsMu sync.Mutex // guards groups and every group's fields
	groups   = map[groupKey]*group{}
)

// commit runs chs (changes of c or of copies of c) through c's group and
// returns once each has its outcome in ch.err and ch.events.
func (c *Core) commit(ctx context.Context, chs []*change) {
	key := groupKey{vault: c.Vault, gate: c.WriteGate}
	for _, ch := range chs {
		ch.wake = make(chan bool, 1)
	}
	groupsMu.Lock()
	g := groups[key]
	if g == nil {
		g = &group{key: key}
		groups[key] = g
	}
	g.queue = append(g.queue, chs...)
	if !g.leading {
		g.leading = true
		groupsMu.Unlock()
		c.lead(g)
	} else {
		groupsMu.Unlock()
	}
	for _, ch := range chs {
		c.await(g, ch)
	}
}

// await waits for ch's outcome, leading the group when asked to.
func (c *Core) await(g *group, ch *change) {
	done := ch.ctx.Done()
	for {
		select {
		case lead := <-ch.wake:
			if !lead {
				return
			}
			c.lead(g)
		case <-done:
			done = nil
			groupsMu.Lock()
			if removeChange(g, ch) {
				// Not taken yet: it is given up, and the lead, if it was
				// just handed to it, goes on to the next change.
				ch.err = MapError(ch.ctx.Err())
				select {
				case lead := <-ch.wake:
					if lead {
						g.handOff()
					}
				default:
				}
				groupsMu.Unlock()
				return
			}
			// Taken into a transaction: its outcome is coming.
			groupsMu.Unlock()
		}
	}
}

// removeChange takes ch out of g's queue; false when it is not there.
// groupsMu is held.
func removeChange(g *group, ch *change) bool {
	for i, q := range g.queue {
		if q == ch {
			g.queue = append(g.queue[:i:i], g.queue[i+1:]...)
			return true
		}
	}
	return false
}

// lead commits every change queued in g, tells each its outcome and hands
// the lead on.
func (c *Core) lead(g *group) {
	// Let the callers that are about to change (those whose changes the
	// last commit just returned, ready to run) queue theirs first: on a
	// busy core they would otherwise only queue during this commit's
	// fsync, and every other commit would hold a single change.
	runtime.Gosched()
	groupsMu.Lock()
	chs := g.queue
	g.queue = nil
	groupsMu.Unlock()
	if len(chs) > 0 {
		ctx := chs[0].ctx
		for _, ch := range chs[1:] {
			if ch.ctx != ctx {
				// Changes of several callers: none of them may cancel the
				// others' (a caller gives up only while it is queued).
				ctx = context.WithoutCancel(ctx)
				break
			}
		}
		sealer, err := c.Vault.Sealer()
		if err != nil {
			for _, ch := range chs {
				ch.err = MapError(err)
			}
		} else {
			c.run(ctx, sealer, chs, &g.witness)
		}
	}
	groupsMu.Lock()
	for _, ch := range chs {
		ch.wake <- false
	}
	if len(g.queue) == 0 {
		// The callers just told may change again at once (a server's
		// handlers, a loop of issuers): let them queue before deciding
		// that this commit ends the burst.
		groupsMu.Unlock()
		runtime.Gosched()
		groupsMu.Lock()
	}
	if len(g.queue) > 0 {
		// The next commit's witness supersedes this one's: only the last
		// commit of a burst writes the file.
		g.handOff()
		groupsMu.Unlock()
		return
	}
	w := g.witness
	g.witness = witnessed{}
	groupsMu.Unlock()
	// Still leading: no other commit of this group writes the witness
	// meanwhile, so it never goes back.
	if w.rec != nil {
		c.witnessSoon(w.key, w.rec)
	}
	groupsMu.Lock()
	g.handOff()
	groupsMu.Unlock()
}

// witnessed is the newest audit record a group appended and has not yet
// noted in the witness (see audit.Witness).
type witnessed struct {
	key []byte
	rec *audit.Record
}

// note makes rec the record to witness when it is the newest, or was
// appended onto a restored log this process accepted (the records before
// it may name a later place of the log the restore replaced).
func (w *witnessed) note(key []byte, rec *audit.Record) {
	if rec != nil && (w.rec == nil || rec.Seq > w.rec.Seq || rec.Rebased()) {
		w.key, w.rec = key, rec
	}
}

// handOff gives the lead to the first queued change, or ends it (and
// forgets the group) when none is. groupsMu is held.
func (g *group) handOff() {
	if len(g.queue) > 0 {
		g.queue[0].wake <- true
		return
	}
	g.leading = false
	delete(groups, g.key)
}

// witnessSoon notes rec in the vault directory's witness the way a busy
// process does (audit.Witness.NoteSoon: at most every
// audit.WitnessEvery), and has the vault's Close write what that holds
// back.
func (c *Core) witnessSoon(key []byte, rec *audit.Record) {
	wit := audit.WitnessOf(c.Vault)
	warnings := c.Warnings
	c.Vault.OnClose("audit witness "+wit.Path, func() { witnessFailed(warnings, wit.Path, wit.Flush()) })
	witnessFailed(warnings, wit.Path, wit.NoteSoon(key, rec))
}

// witnessWarned holds the witness files whose failure was told.
var witnessWarned sync.Map

// witnessFailed tells w, once a process for each witness file, that it
// could not be written (a full disk, a read-only directory): the change
// stands, but this host no longer notices a database rolled back behind
// its back until the file is written again (tester: it went unwritten
// without a word).
func witnessFailed(w io.Writer, path string, err error) {
	if err == nil || w == nil {
		return
	}
	if _, told := witnessWarned.LoadOrStore(path, true); told {
		return
	}
	fmt.Fprintf(w, "warning: this host's audit witness %s could not be written (%v): the change is made, but a database rolled back behind this host's back goes unnoticed until the file is written again\n", path, err)
}
