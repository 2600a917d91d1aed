package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/deploy"
)

// runAsCertctl, set in its environment, makes this test binary certctl
// itself: what a deploy command that runs certctl runs.
const runAsCertctl = "DEPLOYTEST_RUN_CERTCTL"

func TestMain(m *testing.M) {
	if os.Getenv(runAsCertctl) == "1" {
		os.Exit(app.Main())
	}
	os.Exit(m.Run())
}

// shq quotes s for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestHookRunsDeployOnSameVault: a target's command that itself runs
// `certctl deploy` of another certificate on the same vault finishes at
// once, both installed: the command runs outside this host's install
// lock, which the deploy it runs takes.
func TestHookRunsDeployOnSameVault(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *clitest.Env, _ func() string) {
		a, b := e.RequestPrivate("outer.internal"), e.RequestPrivate("inner.internal")
		ta, tb := newTarget(t), newTarget(t)
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		done := filepath.Join(ta.dir, "inner-done")
		var cmd []string
		for _, k := range []string{"HOME", "CERTCTL_VAULT", "CERTCTL_STORE"} {
			cmd = append(cmd, shq(k+"="+e.Vars[k]))
		}
		cmd = append(cmd, runAsCertctl+"=1", shq(exe))
		for _, a := range tb.args(b) {
			cmd = append(cmd, shq(a))
		}
		hook := "env " + strings.Join(cmd, " ") + " && touch " + shq(done)
		start := time.Now()
		r := e.Run(ta.args(a, "--exec", hook)...)
		if took := time.Since(start); r.Code != 0 || took > deploy.HookTimeout/2 {
			t.Fatalf("deploy whose command runs certctl deploy on the same vault: %v (took %s)", r, took)
		}
		if _, err := os.Stat(done); err != nil {
			t.Fatalf("the inner deploy did not succeed: %v", err)
		}
		checkInstalled(t, e, a, ta)
		checkInstalled(t, e, b, tb)
	})
}
