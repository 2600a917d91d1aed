package vault

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// cheapScrypt wraps the master keys of these tests: the children unwrap
// with the parameters the key file holds.
var cheapScrypt = localstore.ScryptParams{N: 1 << 10, R: 8, P: 1}

const testPassphrase = "correct horse battery"

// runEnv runs certctl on vault with extra environment, to completion.
func runEnv(vault string, env []string, args ...string) testbin.Result {
	return (&testbin.Vault{H: harness, Dir: vault, Timeout: 2 * time.Minute}).RunEnv(env, args...)
}

// newWrappedVault creates a vault whose master key is wrapped by
// testPassphrase with cheap KDF parameters.
func newWrappedVault(t *testing.T, dir string) {
	t.Helper()
	v, err := localstore.Open(context.Background(), dir, localstore.Options{Passphrase: []byte(testPassphrase), Scrypt: cheapScrypt})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Sealer(); err != nil {
		t.Fatal(err)
	}
}

// TestBackupWhileIssuing takes a backup while four processes issue
// certificates, restores it into a new vault and checks that the restored
// vault verifies, lists every certificate whose request completed before
// the backup began, exports a key with the same passphrase, and refuses a
// second restore (exit 5).
func TestBackupWhileIssuing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	newWrappedVault(t, vault)
	env := []string{"CERTCTL_VAULT_PASSPHRASE=" + testPassphrase}
	if r := runEnv(vault, env, "request", "--domain-name", "first.internal", "--certificate-authority-arn", "default", "-o", "text"); r.Code != 0 {
		t.Fatalf("%v", r)
	}

	type issued struct {
		arn  string
		done time.Time
	}
	var mu sync.Mutex
	var acked []issued
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := runEnv(vault, env, "request", "--domain-name", fmt.Sprintf("w%d-%d.internal", w, i),
					"--certificate-authority-arn", "default", "-o", "text")
				done := time.Now()
				if r.Code != 0 {
					t.Errorf("writer %d: %v", w, r)
					return
				}
				mu.Lock()
				acked = append(acked, issued{strings.TrimSpace(string(r.Stdout)), done})
				mu.Unlock()
			}
		}()
	}
	countAcked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	for deadline := time.Now().Add(time.Minute); countAcked() < 12 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	backup := filepath.Join(dir, "backup.db")
	began := time.Now()
	r := runEnv(vault, env, "vault", "backup", "--out-file", backup, "-o", "json")
	ended := time.Now()
	// Writers go on a little after the backup, then stop.
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if r.Code != 0 {
		t.Fatalf("backup: %v", r)
	}
	var before, during int
	want := map[string]bool{}
	for _, a := range acked {
		switch {
		case a.done.Before(began):
			want[a.arn] = true
			before++
		case a.done.Before(ended):
			during++
		}
	}
	t.Logf("%d certificates acknowledged before the backup began, %d while it ran, %d in all", before, during, len(acked))
	if before < 12 {
		t.Fatalf("only %d certificates before the backup", before)
	}

	restored := filepath.Join(dir, "restored")
	if r := runEnv(restored, nil, "vault", "restore", "--from-file", backup); r.Code != 6 {
		t.Errorf("restore without the passphrase: %v, want exit 6", r)
	}
	if r := runEnv(restored, env, "vault", "restore", "--from-file", backup, "-o", "json"); r.Code != 0 {
		t.Fatalf("restore: %v", r)
	}
	if r := runEnv(restored, env, "vault", "verify", "-o", "json"); r.Code != 0 {
		t.Fatalf("verify of the restored vault: %v", r)
	}
	got := listARNs(t, restored)
	for arn := range want {
		if !got[arn] {
			t.Errorf("%s, acknowledged before the backup began, is not in the restored vault", arn)
		}
	}
	pass := filepath.Join(dir, "export-pass.txt")
	if err := os.WriteFile(pass, []byte("export\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for arn := range want {
		if r := runEnv(restored, env, "export", arn, "--passphrase-file", pass, "-o", "json"); r.Code != 0 {
			t.Fatalf("export from the restored vault: %v", r)
		}
		break
	}
	if r := runEnv(restored, env, "vault", "restore", "--from-file", backup); r.Code != 5 {
		t.Errorf("restore into a non-empty vault: %v, want exit 5", r)
	}
	// The source still verifies after all this.
	if r := runEnv(vault, env, "vault", "verify"); r.Code != 0 {
		t.Errorf("verify of the source: %v", r)
	}
}

// seedKeys adds n imported certificates, each with its own sealed key, to
// the vault in dir (through pkg/localstore, as bench/cmd/seed does).
func seedKeys(t *testing.T, dir string, n int) {
	t.Helper()
	now := time.Now().UTC()
	root := testpki.NewRoot("Rotation Root", now)
	sub := root.Sub("Rotation Intermediate")
	leaf, key := sub.Leaf(testpki.LeafOptions{Names: []string{"rotate.example.test"}, NotAfter: now.Add(30 * 24 * time.Hour)})
	m := &inventory.Material{Leaf: leaf, Chain: []*x509.Certificate{sub.Cert}, Key: key}
	v, err := localstore.Open(context.Background(), dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for start := 0; start < n; start += 2500 {
		err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			for i := start; i < min(start+2500, n); i++ {
				c, err := inventory.NewImported(m, nil, now.Add(time.Duration(i)*time.Microsecond))
				if err != nil {
					return err
				}
				if err := inventory.StoreImported(tx, v, c, m, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRotateKeyKill kills `vault rotate-key` with SIGKILL at random moments
// of a rotation of 10,000 sealed keys: after each kill, `vault verify`
// finds every key opening (under the old key or the new one, whichever the
// store is sealed under), the audit chain whole, and a key still exports.
func TestRotateKeyKill(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	vault := filepath.Join(t.TempDir(), "vault")
	seedKeys(t, vault, 10000)
	r := run(vault, "request", "--domain-name", "exported.internal", "--certificate-authority-arn", "default", "-o", "text")
	if r.Code != 0 {
		t.Fatalf("%v", r)
	}
	arn := strings.TrimSpace(string(r.Stdout))
	pass := filepath.Join(t.TempDir(), "pass.txt")
	if err := os.WriteFile(pass, []byte("export\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	verify := func(round int) {
		t.Helper()
		r := run(vault, "vault", "verify", "-o", "json")
		var rep struct {
			Problems   []any
			SealedKeys int
		}
		if err := json.Unmarshal(r.Stdout, &rep); err != nil || r.Code != 0 || len(rep.Problems) != 0 {
			t.Fatalf("round %d: vault verify: %v", round, r)
		}
		if rep.SealedKeys < 10001 {
			t.Fatalf("round %d: verify opened %d keys", round, rep.SealedKeys)
		}
		if r := run(vault, "export", arn, "--passphrase-file", pass, "-o", "json"); r.Code != 0 {
			t.Fatalf("round %d: export: %v", round, r)
		}
	}

	// How long a rotation takes here: the fastest of two (the first one
	// also warms the page cache), so that kills land inside a rotation.
	var took time.Duration
	for i := 0; i < 2; i++ {
		began := time.Now()
		if r := run(vault, "vault", "rotate-key", "-o", "json"); r.Code != 0 {
			t.Fatalf("rotate-key: %v", r)
		}
		if d := time.Since(began); i == 0 || d < took {
			took = d
		}
	}
	t.Logf("a rotation of 10,000 keys takes %v", took)
	verify(-1)

	keyID := func() string {
		data, _ := os.ReadFile(filepath.Join(vault, localstore.MasterKeyFile))
		id, _ := localstore.KeyID(data)
		return id
	}
	kills, completed, changed := 0, 0, 0
	// Eight rounds, and more (up to 16) until one was killed: a rotation
	// that completes says how long one takes now, which the next kills
	// aim within (CI: the calibration above ran slower than the rounds,
	// and none of them was killed).
	for round := 0; round < 8 || kills == 0 && round < 16; round++ {
		before := keyID()
		d := time.Duration(rng.Int64N(int64(took)*9/10 + 1))
		began := time.Now()
		c := startChild(t, vault, "vault", "rotate-key", "-o", "json")
		killed, code := c.waitOrKill(d)
		if killed {
			kills++
		} else {
			took = min(took, time.Since(began))
			completed++
			if code != 0 {
				t.Fatalf("round %d: rotate-key exit %d: %s", round, code, c.stderr.Bytes())
			}
		}
		verify(round)
		if keyID() != before {
			changed++
		}
		pending, _ := filepath.Glob(filepath.Join(vault, "master.key*.pending-*"))
		t.Logf("round %d: kill after %v: killed=%v, key changed=%v, pending files %d", round, d, killed, keyID() != before, len(pending))
	}
	t.Logf("%d rotations killed, %d completed, the key changed in %d rounds", kills, completed, changed)
	if kills == 0 {
		t.Error("no rotation was killed: the test proved nothing")
	}
}
