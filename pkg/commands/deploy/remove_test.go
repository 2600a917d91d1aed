package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	dep "github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// removeOutput is deploy --remove's JSON form.
type removeOutput struct {
	CertificateArn string
	Removed        []struct{ Target, Host string }
	InUseBy        []string
}

// rebuildHost gives e's vault directory a new host identity, as a vault
// directory removed and made again does (host.id, host.key and
// host.targets are the directory's own; the store keeps every host's
// targets), and returns the identity it had.
func rebuildHost(t *testing.T, e *clitest.Env) string {
	t.Helper()
	old := strings.TrimSpace(string(read(t, filepath.Join(e.Vault, dep.HostIDFile))))
	for _, f := range []string{dep.HostIDFile, dep.HostKeyFile, dep.TargetsFile} {
		if err := os.Remove(filepath.Join(e.Vault, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return old
}

// TestRebuiltHostRemovesFormerTarget: a host whose vault directory was
// rebuilt (a new host.id, the same host.name) is told, by a renewal and by
// a deploy to the same path, that the target of its former self is left
// for a host that no longer exists, with the command that removes it;
// InUseBy tells the two targets apart instead of repeating one string;
// `deploy --remove --host ID` removes the former self's target and
// `deploy --remove` this host's own, leaving the files where they are,
// after which the certificate is no longer in use nor eligible.
func TestRebuiltHostRemovesFormerTarget(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *clitest.Env, _ func() string) {
		e.Vars["CERTCTL_HOST_NAME"] = "hostC"
		arn := e.RequestPrivate("web.c.internal")
		tg := newTarget(t)
		hookLog := filepath.Join(tg.dir, "hook.log")
		e.MustRun(tg.args(arn, "--exec", "echo ran >> "+hookLog)...)
		oldID := rebuildHost(t, e)
		hint := "--remove --cert-file " + tg.cert + " --host " + oldID

		// The renewal on the rebuilt host leaves the former self's target
		// and says how to remove it.
		code, res, r := e.Renew(arn)
		if code != 0 || res[arn].Outcome != "RENEWED" || len(res[arn].Targets) != 1 ||
			res[arn].Targets[0].Outcome != "OTHER_HOST" || !strings.Contains(res[arn].Targets[0].Reason, hint) ||
			!strings.Contains(res[arn].Reason, "if this host's vault directory was rebuilt") {
			t.Fatalf("renew on the rebuilt host does not name the old target's removal (%q):\n%v", hint, r)
		}

		// A deploy to the same path records a second target, and says so.
		r = e.MustRun(append(tg.args(arn), "-o", "json")...)
		if !strings.Contains(r.Stderr, hint) {
			t.Fatalf("deploy over the former self's path does not name the old target's removal (%q):\n%v", hint, r)
		}
		var out struct{ InUseBy []string }
		if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
			t.Fatal(err)
		}
		newID := strings.TrimSpace(string(read(t, filepath.Join(e.Vault, dep.HostIDFile))))
		want := []string{"file:" + tg.cert + " (host hostC " + newID[:8] + ")", "file:" + tg.cert + " (host hostC " + oldID[:8] + ")"}
		if strings.Join(out.InUseBy, "|") != strings.Join(want, "|") {
			t.Fatalf("InUseBy %q, want %q", out.InUseBy, want)
		}
		if got := e.Describe(arn).InUseBy; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("describe: InUseBy %q, want %q", got, want)
		}

		// The name is the two hosts': it names neither.
		if r := e.Run("deploy", arn, "--remove", "--cert-file", tg.cert, "--host", "hostC"); r.Code != errs.ExitInvalid ||
			!strings.Contains(r.Stderr, oldID) || !strings.Contains(r.Stderr, newID) {
			t.Fatalf("--host naming two hosts: %v\nwant exit 4 listing both IDs", r)
		}

		// The former self's target, named by its ID.
		var rm removeOutput
		e.JSON(&rm, "deploy", arn, "--remove", "--cert-file", tg.cert, "--host", oldID)
		if len(rm.Removed) != 1 || rm.Removed[0].Host != oldID || rm.Removed[0].Target != want[1] ||
			strings.Join(rm.InUseBy, "|") != "file:"+tg.cert+" (host hostC)" {
			t.Fatalf("remove --host %s: %+v", oldID, rm)
		}
		if r := e.Run("deploy", arn, "--remove", "--cert-file", tg.cert, "--host", oldID); r.Code != errs.ExitNotFound {
			t.Fatalf("removing it again: %v\nwant exit 3", r)
		}
		code, res, r = e.Renew("--due", "--within", "400d")
		if code != 0 || res[arn].Outcome != "RENEWED" || strings.Contains(r.Stdout, oldID) {
			t.Fatalf("renew --due after the removal still meets the old target:\n%v", r)
		}
		if err := os.Remove(hookLog); err != nil {
			t.Fatal(err)
		}
		before := read(t, tg.cert)

		// This host's own, by path: the files stay, the certificate is
		// no longer in use nor eligible, and delete needs no --force.
		e.JSON(&rm, "deploy", arn, "--remove", "--cert-file", tg.cert)
		if len(rm.Removed) != 1 || rm.Removed[0].Host != newID || len(rm.InUseBy) != 0 {
			t.Fatalf("remove this host's target: %+v", rm)
		}
		if got := read(t, tg.cert); string(got) != string(before) {
			t.Fatal("removing the target changed its certificate file")
		}
		if _, err := os.Stat(tg.key); err != nil {
			t.Fatalf("removing the target removed its key file: %v", err)
		}
		if c := e.Describe(arn); len(c.InUseBy) != 0 || c.RenewalEligibility != "INELIGIBLE" {
			t.Fatalf("after the last target's removal: InUseBy %q, %s", c.InUseBy, c.RenewalEligibility)
		}
		code, _, r = e.Renew("--due", "--within", "400d")
		if code != 0 || clitest.LineCount(t, hookLog) != 0 {
			t.Fatalf("renew --due after the removal ran the removed target's command:\n%v", r)
		}
		if r := e.Run("deploy", arn, "--remove", "--cert-file", tg.cert); r.Code != errs.ExitNotFound {
			t.Fatalf("removing a target that is gone: %v\nwant exit 3", r)
		}
		r = e.MustRun("audit", "list", "--event-name", "RemoveDeployTarget", "--resource", arn, "-o", "json")
		var audit struct {
			AuditEvents []struct {
				Outcome           string
				RequestParameters map[string]any
			}
		}
		if err := json.Unmarshal([]byte(r.Stdout), &audit); err != nil {
			t.Fatal(err)
		}
		outcomes := map[string]int{}
		for _, a := range audit.AuditEvents {
			outcomes[a.Outcome]++
		}
		if outcomes["SUCCESS"] != 2 || outcomes["FAILURE"] != 3 {
			t.Fatalf("RemoveDeployTarget audit records: %v\n%s", outcomes, r.Stdout)
		}
		e.MustRun("delete", arn, "--yes")
	})
}

// TestRemoveOtherHostsTarget: another host's target is removed only when
// named with --host; without it, this host's removal at that path is not
// found (exit 3) and names the host whose target is there.
func TestRemoveOtherHostsTarget(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *clitest.Env, _ func() string) {
		e.Vars["CERTCTL_HOST_NAME"] = "web1"
		arn := e.RequestPrivate("other.internal")
		tg := newTarget(t)
		e.MustRun(tg.args(arn)...)
		web1 := rebuildHost(t, e)
		e.Vars["CERTCTL_HOST_NAME"] = "web2"
		r := e.Run("deploy", arn, "--remove", "--cert-file", tg.cert)
		if r.Code != errs.ExitNotFound || !strings.Contains(r.Stderr, web1) || !strings.Contains(r.Stderr, "--host") {
			t.Fatalf("removing another host's target without --host: %v\nwant exit 3 naming host %s", r, web1)
		}
		var rm removeOutput
		e.JSON(&rm, "deploy", arn, "--remove", "--cert-file", tg.cert, "--host", "web1")
		if len(rm.Removed) != 1 || rm.Removed[0].Host != web1 || len(rm.InUseBy) != 0 {
			t.Fatalf("remove --host web1: %+v", rm)
		}
		if _, err := os.Stat(tg.key); err != nil {
			t.Fatalf("removing the target removed its key file: %v", err)
		}
		if r := e.Run("delete", arn, "--yes"); r.Code != 0 {
			t.Fatalf("delete after the removal: %v", r)
		}
	})
}

// TestRemovedTargetPutBack: the record of a target this host removed, put
// back into the store (anyone who can write the database can), is not
// installed again nor its command run: the host noted the removal.
func TestRemovedTargetPutBack(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn := e.RequestPrivate("putback.internal")
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	tg := newTarget(t)
	hookLog := filepath.Join(tg.dir, "hook.log")
	e.MustRun(tg.args(arn, "--exec", "echo ran >> "+hookLog)...)
	old := storeTarget(t, e, id, nil)
	e.MustRun("deploy", arn, "--remove", "--cert-file", tg.cert)
	e.Tamper(func(tx localstore.Tx) error {
		return tx.PutObject(&localstore.Object{Kind: dep.ObjectKind, ID: id, Data: old})
	})
	if err := os.Remove(hookLog); err != nil {
		t.Fatal(err)
	}
	code, res, r := e.Renew("--due", "--within", "40d")
	if code != errs.ExitPartial || !strings.Contains(res[arn].Reason, "was removed from this host's deploy targets") {
		t.Fatalf("renew --due over a removed target put back: %v", r)
	}
	if _, err := os.Stat(hookLog); !os.IsNotExist(err) {
		t.Fatal("the removed target's command ran again")
	}
}
