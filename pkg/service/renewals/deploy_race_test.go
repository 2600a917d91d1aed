package renewals

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/coretest"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// TestDeployBesideWriters: deploys next to another writer's changes are
// not refused as if the audit log were rolled back: the witness is read
// before the deploy's read transaction, as export's (tester: exit 6 for a
// few exports in a hundred beside other writers; deploy checks the same).
func TestDeployBesideWriters(t *testing.T) {
	ctx := context.Background()
	_, core, req, _ := newFixture(t, "race.internal")
	certs := certificates.New(core, certificates.Settings{CertificateValidity: 30 * 24 * time.Hour})
	s := New(core, Settings{Validity: 30 * 24 * time.Hour,
		Host: func() (deploy.Host, error) { return deploy.LocalHost(core.Vault.Dir, "h1") }})
	dir := t.TempDir()
	stop := coretest.Meanwhile(t, func(i int) error {
		_, err := certs.AddTags(ctx, req.CertificateArn, []string{fmt.Sprintf("k%d=v", i%40)})
		return err
	})
	failed := 0
	for i := 0; i < 200; i++ {
		tg := deploy.Target{CertFile: filepath.Join(dir, "app.crt"), KeyFile: filepath.Join(dir, "app.key")}
		if _, err := s.Deploy(ctx, req.CertificateArn, tg); err != nil {
			if failed++; failed == 1 {
				t.Logf("deploy %d: %v", i, err)
			}
		}
	}
	stop()
	if failed > 0 {
		t.Errorf("%d of 200 deploys failed", failed)
	}
}
