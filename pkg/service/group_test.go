package service

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// queued is how many changes wait in c's group.
func queued(c *Core) int {
	groupsMu.Lock()
	defer groupsMu.Unlock()
	if g := groups[groupKey{vault: c.Vault, gate: c.WriteGate}]; g != nil {
		return len(g.queue)
	}
	return 0
}

// verifyChain fails t unless the audit chain of c's vault verifies; it
// returns how many records it holds.
func verifyChain(t *testing.T, c *Core) int64 {
	t.Helper()
	s, err := c.Vault.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	err = c.Read(context.Background(), func(tx localstore.Tx) error {
		var p *audit.Problem
		var err error
		n, p, err = audit.Verify(tx, s.AuditKey())
		if p != nil {
			return p
		}
		return err
	})
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	return n
}

// groupCommit runs n concurrent changes on c while the first holds its
// transaction open until the n-1 others are queued, so that these are
// committed as one group. Change fail (a rule failure, recorded) and
// change broken (not a rule: not recorded) fail; the others must commit.
func groupCommit(t *testing.T, c *Core, n, fail, broken int) {
	ctx := context.Background()
	var mu sync.Mutex
	txs := map[localstore.Tx]bool{}
	release := make(chan struct{})
	errsOut := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				<-release
			}
			errsOut[i] = c.Change(ctx, "PutThing", func(op *Op) error {
				mu.Lock()
				txs[op.Tx] = true
				mu.Unlock()
				if i == 0 {
					close(release)
					// Hold the first transaction until every other change waits.
					for deadline := time.Now().Add(10 * time.Second); queued(c) < n-1; {
						if time.Now().After(deadline) {
							return fmt.Errorf("only %d changes queued", queued(c))
						}
						time.Sleep(time.Millisecond)
					}
				}
				op.Resource(fmt.Sprintf("arn:thing/%d", i))
				op.Param("Index", i)
				if err := op.Tx.PutMeta(fmt.Sprintf("thing-%d", i), []byte("1")); err != nil {
					return err
				}
				switch i {
				case fail:
					return errs.Refusedf("thing %d is refused", i)
				case broken:
					return errors.New("thing broke")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errsOut {
		switch i {
		case fail:
			if errs.ExitCodeOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), "refused") {
				t.Errorf("change %d: %v, want its own refusal", i, err)
			}
		case broken:
			if errs.ExitCodeOf(err) != errs.ExitFailure || !strings.Contains(err.Error(), "thing broke") {
				t.Errorf("change %d: %v, want its own failure", i, err)
			}
		default:
			if err != nil {
				t.Errorf("change %d: %v", i, err)
			}
		}
	}
	// What is stored is exactly the changes that succeeded.
	_ = c.Read(ctx, func(tx localstore.Tx) error {
		for i := 0; i < n; i++ {
			_, err := tx.GetMeta(fmt.Sprintf("thing-%d", i))
			if i == fail || i == broken {
				if !errors.Is(err, localstore.ErrNotFound) {
					t.Errorf("failed change %d left its write: %v", i, err)
				}
			} else if err != nil {
				t.Errorf("change %d not stored: %v", i, err)
			}
		}
		return nil
	})
	// One record per change that was made and one FAILURE for the
	// refusal, each once, and a chain that verifies.
	recs := records(t, c)
	seen := map[string]string{}
	for _, r := range recs {
		if _, dup := seen[r.Resources[0]]; dup {
			t.Errorf("two records of %s", r.Resources[0])
		}
		seen[r.Resources[0]] = r.Outcome
	}
	wantRecords := n // the refusal has its FAILURE record
	if broken >= 0 {
		wantRecords-- // not a rule: not recorded
	}
	if len(recs) != wantRecords {
		t.Errorf("%d records, want %d", len(recs), wantRecords)
	}
	for i := 0; i < n; i++ {
		want := "SUCCESS"
		switch i {
		case fail:
			want = "FAILURE"
		case broken:
			want = ""
		}
		if got := seen[fmt.Sprintf("arn:thing/%d", i)]; got != want {
			t.Errorf("change %d recorded as %q, want %q", i, got, want)
		}
	}
	if got := verifyChain(t, c); got != int64(len(recs)) {
		t.Errorf("chain of %d records, list shows %d", got, len(recs))
	}
	if fail < 0 && broken < 0 && len(txs) != 2 {
		t.Errorf("%d transactions, want 2 (the first change, then all %d others together)", len(txs), n-1)
	}
}

func TestGroupCommitOneTransactionForConcurrentChanges(t *testing.T) {
	groupCommit(t, newCore(t, localstore.Options{}), 20, -1, -1)
}

func TestGroupCommitFailureCostsOnlyItself(t *testing.T) {
	groupCommit(t, newCore(t, localstore.Options{}), 20, 7, 13)
}

func TestGroupCommitPostgres(t *testing.T) {
	u := pgtest.FreshSchema(t)
	c := newCore(t, localstore.Options{StoreURL: u})
	groupCommit(t, c, 20, 7, 13)

	// Two processes (two vault handles) writing concurrently: each groups
	// its own changes and the store's retry orders the groups; nothing is
	// lost and the chain stays whole.
	v2, err := localstore.Open(context.Background(), c.Vault.Dir, localstore.Options{StoreURL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	c2 := *c
	c2.Vault = v2
	before := len(records(t, c))
	var wg sync.WaitGroup
	errc := make(chan error, 80)
	for i := 0; i < 80; i++ {
		core := c
		if i%2 == 1 {
			core = &c2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- core.Change(context.Background(), "PutThing", func(op *Op) error {
				op.Resource(fmt.Sprintf("arn:two/%d", i))
				return op.Tx.PutMeta(fmt.Sprintf("two-%d", i), []byte("1"))
			})
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(records(t, c)); got != before+80 {
		t.Errorf("%d records after 80 more changes, want %d", got, before+80)
	}
	verifyChain(t, c)
}

// holdFirst starts a change that writes meta "first" once hold is closed,
// and returns when it runs (so it leads the next group); first gets its
// result.
func holdFirst(c *Core) (hold chan struct{}, first chan error) {
	hold, first = make(chan struct{}), make(chan error, 1)
	started := make(chan struct{})
	go func() {
		first <- c.Change(context.Background(), "PutThing", func(op *Op) error {
			close(started)
			<-hold
			return op.Tx.PutMeta("first", []byte("1"))
		})
	}()
	<-started
	return hold, first
}

// TestGroupCommitCancelWhileQueued: a caller that gives up while its change
// waits in the queue gets an error and its change is not made; the others
// are.
func TestGroupCommitCancelWhileQueued(t *testing.T) {
	c := newCore(t, localstore.Options{})
	hold, first := holdFirst(c)
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		second <- c.Change(ctx, "PutThing", func(op *Op) error { return op.Tx.PutMeta("second", []byte("1")) })
	}()
	third := make(chan error, 1)
	go func() {
		third <- c.Change(context.Background(), "PutThing", func(op *Op) error { return op.Tx.PutMeta("third", []byte("1")) })
	}()
	for queued(c) < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-second; err == nil {
		t.Fatal("a cancelled change reported success")
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-third; err != nil {
		t.Fatal(err)
	}
	_ = c.Read(context.Background(), func(tx localstore.Tx) error {
		if _, err := tx.GetMeta("second"); !errors.Is(err, localstore.ErrNotFound) {
			t.Errorf("the cancelled change was made: %v", err)
		}
		return nil
	})
	if n := verifyChain(t, c); n != 2 {
		t.Errorf("%d records, want 2", n)
	}
}

const helperEnv = "CERTCTL_GROUP_COMMIT_HELPER"

// TestGroupCommitHelperProcess is the process TestGroupCommitAckedChangesSurviveKill
// kills: concurrent changes, each printed once acknowledged.
func TestGroupCommitHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	v, err := localstore.Open(context.Background(), dir, localstore.Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	c := &Core{Vault: v, Now: func() time.Time { return time.Now().UTC() }, Actor: audit.Actor{Type: audit.ActorUser, ID: "k"}}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				k := fmt.Sprintf("k%d-%d", g, i)
				if err := c.Change(context.Background(), "PutThing", func(op *Op) error {
					op.Resource("arn:" + k)
					return op.Tx.PutMeta(k, []byte("1"))
				}); err != nil {
					fmt.Println("error:", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(w, k)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestGroupCommitAckedChangesSurviveKill kills a process in the middle of
// concurrent group commits: every change it acknowledged is in the vault
// with its audit record, and the chain verifies.
func TestGroupCommitAckedChangesSurviveKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestGroupCommitHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error:") || strings.HasPrefix(line, "open:") {
			t.Fatal(line)
		}
		if strings.HasPrefix(line, "k") {
			acked = append(acked, line)
		}
		if len(acked) == 300 {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	// Acknowledgements already written before the kill count too.
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "k") {
			acked = append(acked, line)
		}
	}
	_ = cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("the helper acknowledged %d changes before it ended", len(acked))
	}
	v, err := localstore.Open(context.Background(), dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c := &Core{Vault: v, Now: time.Now}
	var stored int
	_ = c.Read(context.Background(), func(tx localstore.Tx) error {
		for _, k := range acked {
			if _, err := tx.GetMeta(k); err != nil {
				t.Errorf("acknowledged change %s is not in the vault: %v", k, err)
			}
		}
		return nil
	})
	recs := records(t, c)
	have := map[string]bool{}
	for _, r := range recs {
		have[strings.TrimPrefix(r.Resources[0], "arn:")] = true
	}
	for _, k := range acked {
		if !have[k] {
			t.Errorf("acknowledged change %s has no audit record", k)
		}
	}
	stored = len(recs)
	if n := verifyChain(t, c); n != int64(stored) {
		t.Errorf("chain of %d, %d records", n, stored)
	}
	t.Logf("%d changes acknowledged, %d recorded when killed", len(acked), stored)
}

// TestGroupCommitPanicStaysWithItsCaller: a change that panics while
// another caller leads its group panics in its own caller; the others
// commit and the group goes on.
func TestGroupCommitPanicStaysWithItsCaller(t *testing.T) {
	c := newCore(t, localstore.Options{})
	hold, first := holdFirst(c)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_ = c.Change(context.Background(), "PutThing", func(op *Op) error { panic("boom") })
	}()
	other := make(chan error, 1)
	go func() {
		other <- c.Change(context.Background(), "PutThing", func(op *Op) error { return op.Tx.PutMeta("other", []byte("1")) })
	}()
	for queued(c) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if p := <-panicked; p != "boom" {
		t.Fatalf("the panicking change's caller recovered %v", p)
	}
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	// The group still works.
	if err := c.Change(context.Background(), "PutThing", func(op *Op) error { return op.Tx.PutMeta("after", []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	if n := verifyChain(t, c); n != 3 {
		t.Errorf("%d records, want 3", n)
	}
}

// TestWitnessWrittenAtClose: changes in quick succession hold the witness
// back (audit.Witness.NoteSoon), and closing the vault writes it: the file
// names the newest record once Close returns, without any Check in
// between.
func TestWitnessWrittenAtClose(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	v, err := localstore.Open(ctx, dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &Core{Vault: v, Now: time.Now, Actor: audit.Actor{Type: audit.ActorUser, ID: "u"}}
	for range 5 {
		if err := c.Change(ctx, "AddTagsToCertificate", func(op *Op) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	var last int64
	_ = c.Read(ctx, func(tx localstore.Tx) error {
		rows, err := tx.ListAudit(0, 100)
		if err == nil && len(rows) > 0 {
			last = rows[len(rows)-1].Seq
		}
		return err
	})
	wit := audit.WitnessOf(v)
	sealer, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Clone(sealer.AuditKey())
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	// The file itself, not what this process may still hold back for it:
	// that is kept by path, and this one is spelt another way.
	file := audit.Witness{Path: filepath.Dir(wit.Path) + "/./" + filepath.Base(wit.Path)}
	if got := file.Held().Record(key); last == 0 || got != last {
		t.Fatalf("witness at record %d after Close, want the newest, %d", got, last)
	}
}
