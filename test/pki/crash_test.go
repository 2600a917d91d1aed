package pki

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestKilledRequestsLeaveRevocableCertificates kills `request` processes at
// random moments: afterwards the vault passes its integrity check, every
// ARN printed before a kill is in the inventory, and every certificate the
// vault holds has its serial recorded with its CA — so no certificate can
// exist that the vault cannot revoke — and does revoke.
func TestKilledRequestsLeaveRevocableCertificates(t *testing.T) {
	v := newVault(t)
	v.ARN(t, "request", "--domain-name", "warm.internal", "--certificate-authority-arn", "default")
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	var printed []string
	killed := 0
	for i := range 30 {
		cmd := exec.Command(harness.Bin, "--vault", v.Dir, "request", "--domain-name", fmt.Sprintf("k%d.internal", i),
			"--certificate-authority-arn", "default", "--key-algorithm", "EC_prime256v1", "-o", "json")
		cmd.Env = childEnv()
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(15000)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++ // killed while still running, not after it finished
		}
		var res struct{ CertificateArn string }
		if json.Unmarshal(out.Bytes(), &res) == nil && res.CertificateArn != "" {
			printed = append(printed, testbin.IDOf(res.CertificateArn))
		}
	}
	t.Logf("%d of 30 requests killed while running, %d ARNs printed", killed, len(printed))
	if killed < 3 {
		t.Fatalf("only %d requests were killed while running: the test did not exercise crashes", killed)
	}

	ctx := context.Background()
	vt, err := localstore.Open(ctx, v.Dir, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer vt.Close()
	if err := vt.Store.Check(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []string
	err = vt.Store.View(ctx, func(tx localstore.Tx) error {
		for _, id := range printed {
			if _, err := tx.GetCertificate(id); err != nil {
				return fmt.Errorf("printed certificate %s: %w", id, err)
			}
		}
		certs, err := tx.ListCertificates(localstore.CertificateFilter{})
		if err != nil {
			return err
		}
		for _, c := range certs {
			s, err := tx.GetSerial(c.CertificateAuthorityID, c.Serial)
			if err != nil {
				return fmt.Errorf("certificate %s: serial %s not recorded with its CA: %w", c.ID, c.Serial, err)
			}
			if s.CertID != c.ID {
				return fmt.Errorf("serial %s is recorded for %q, not %s", c.Serial, s.CertID, c.ID)
			}
			ids = append(ids, c.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	vt.Close()
	for _, id := range ids {
		v.OK(t, "revoke", id, "--revocation-reason", "CESSATION_OF_OPERATION")
	}
}
