package renewals

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/certctl/certctl/pkg/deploy"
)

// TestDeployExecOnASharedStoreSaysItIsReadable: deploy --exec on a shared
// store says that the command is recorded readable by every host and
// reader of the database (security tester: a token in it reached them
// silently); without --exec, or on a store of this host alone, nothing.
func TestDeployExecOnASharedStoreSaysItIsReadable(t *testing.T) {
	ctx := context.Background()
	_, s, _, req, _ := hookFixture(t, "shared.internal")
	deployTo := func(shared bool, exec string) []string {
		t.Helper()
		s.set.SharedStore = shared
		dir := t.TempDir()
		res, err := s.Deploy(ctx, req.CertificateArn, deploy.Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"), Exec: exec})
		if err != nil {
			t.Fatal(err)
		}
		return res.Notices
	}
	if n := deployTo(true, "true"); !slices.Contains(n, SharedExecNotice) {
		t.Errorf("--exec on a shared store: notices %q", n)
	}
	for _, c := range []struct {
		shared bool
		exec   string
	}{{true, ""}, {false, "true"}} {
		if n := deployTo(c.shared, c.exec); slices.Contains(n, SharedExecNotice) {
			t.Errorf("shared %v, exec %q: notices %q", c.shared, c.exec, n)
		}
	}
}
