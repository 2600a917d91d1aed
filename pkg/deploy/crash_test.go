package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crashEnv makes the test binary, run again by TestInstallKilledAmongRenames,
// install and exit at the point it names, as kill -9 would stop it.
const crashEnv = "CERTCTL_TEST_DEPLOY_CRASH_AT"

// crashTarget is the target of the killed install, in dir.
func crashTarget(dir string) Target {
	return Target{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"),
		FullchainFile: filepath.Join(dir, "f.pem"), ChainFile: filepath.Join(dir, "ch.pem")}
}

// TestInstallKilledAmongRenames: an install killed between the renames of
// its files leaves a journal in the vault directory, and the next install
// of the host completes it before anything else, so that the certificate,
// fullchain and key are a set again; one killed before its journal was
// written left the old set in place.
func TestInstallKilledAmongRenames(t *testing.T) {
	if at := os.Getenv(crashEnv); at != "" {
		vault, dir := os.Getenv("VAULT"), os.Getenv("DIR")
		crashHook = func(point string) {
			if point == at {
				os.Exit(9)
			}
		}
		h, err := LocalHost(vault, "test")
		if err != nil {
			t.Fatal(err)
		}
		m := testMaterial(t, 1, time.Now())
		err = h.Install(context.Background(), crashTarget(dir), m, Hooks{})
		t.Fatalf("the install was not killed at %s: %v", at, err)
	}
	for _, tc := range []struct {
		at        string
		completed bool // the new set is in place once the next install of the host started
	}{
		{"staged", false},
		{"renamed 1", true},
		{"renamed 2", true},
		{"renamed 3", true},
	} {
		t.Run(tc.at, func(t *testing.T) {
			vault, dir := t.TempDir(), t.TempDir()
			tg := crashTarget(dir)
			old := map[string]string{tg.CertFile: "OLD CERT\n", tg.KeyFile: "OLD KEY\n", tg.FullchainFile: "OLD CERT\nOLD CHAIN\n", tg.ChainFile: "OLD CHAIN\n"}
			for p, c := range old {
				if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestInstallKilledAmongRenames$")
			cmd.Env = append(os.Environ(), crashEnv+"="+tc.at, "VAULT="+vault, "DIR="+dir)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 9 {
				t.Fatalf("the killed install: %v\n%s", err, out)
			}
			// The next certctl process of the host.
			h, err := LocalHost(vault, "test")
			if err != nil {
				t.Fatal(err)
			}
			if err := h.completeInterrupted(); err != nil {
				t.Fatal(err)
			}
			read := func(p string) string {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			if tc.completed {
				cert, chain := read(tg.CertFile), read(tg.ChainFile)
				if !strings.HasPrefix(cert, "-----BEGIN CERTIFICATE") {
					t.Errorf("certificate %q, want the new one", cert)
				}
				if !strings.HasPrefix(chain, "-----BEGIN CERTIFICATE") || chain == cert {
					t.Errorf("chain %q, want the new one", chain)
				}
				if got := read(tg.FullchainFile); got != cert+chain {
					t.Errorf("fullchain %q, want the new one", got)
				}
				if got := read(tg.KeyFile); !strings.Contains(got, "PRIVATE KEY") {
					t.Errorf("key %q, want the new one", got)
				}
				for _, n := range listDir(t, dir) {
					if strings.Contains(n, ".tmp-") {
						t.Errorf("a temp file is left: %s", n)
					}
				}
			} else {
				for p, c := range old {
					if got := read(p); got != c {
						t.Errorf("%s: %q, want the old content", filepath.Base(p), got)
					}
				}
			}
			for _, n := range listDir(t, vault) {
				if strings.HasSuffix(n, journalSuffix) {
					t.Errorf("a journal is left: %s", n)
				}
			}
			if fi, err := os.Stat(tg.KeyFile); err != nil || (tc.completed && fi.Mode().Perm() != 0o600) {
				t.Errorf("key file: %v %v", fi, err)
			}
		})
	}
}

// TestCompleteJournalRenamesOnlyTempsOfTheFile: a journal (which anyone
// who can write the vault directory can write) makes completeInterrupted
// rename nothing but a temp file of a file over that file.
func TestCompleteJournalRenamesOnlyTempsOfTheFile(t *testing.T) {
	vault, dir := t.TempDir(), t.TempDir()
	other, target := filepath.Join(dir, "other"), filepath.Join(dir, "target")
	for _, p := range []string{other, target} {
		if err := os.WriteFile(p, []byte(filepath.Base(p)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	j := `[{"temp":"` + other + `","path":"` + target + `"}]`
	if err := os.WriteFile(filepath.Join(vault, journalPrefix+"x"+journalSuffix), []byte(j), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := LocalHost(vault, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.completeInterrupted(); err == nil || !strings.Contains(err.Error(), "not a deploy journal") {
		t.Errorf("completeInterrupted = %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(target); !bytes.Equal(b, []byte("target")) {
		t.Errorf("target holds %q", b)
	}
}

// TestCompleteJournalRefusesForgedOrLinked: a journal this host did not
// write (no MAC under host.key) renames nothing, even a temp file of the
// file itself; one of this host naming a link, or a bad entry after a
// good one, is refused before anything is renamed (found by review: a
// forged journal renamed a planted file over an unrelated one, a linked
// temp was moved into place as a link, a bad second entry came after the
// first was renamed).
func TestCompleteJournalRefusesForgedOrLinked(t *testing.T) {
	vault, dir := t.TempDir(), t.TempDir()
	h, err := LocalHost(vault, "test")
	if err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	write(a, "old a")
	write(b, "old b")
	tempA := filepath.Join(dir, ".a.tmp-1")
	write(tempA, "planted a")
	tempB := filepath.Join(dir, ".b.tmp-1")
	if err := os.Symlink("/etc/hostname", tempB); err != nil {
		t.Fatal(err)
	}
	jp := filepath.Join(vault, journalPrefix+"x"+journalSuffix)
	entries := []journalEntry{{Temp: tempA, Path: a}, {Temp: tempB, Path: b}}
	raw, _ := json.Marshal(entries)
	forged, _ := json.Marshal(journalFile{Entries: entries[:1], MAC: strings.Repeat("00", 32)})
	write(jp, string(forged))
	if err := h.completeInterrupted(); err == nil || !strings.Contains(err.Error(), "not a deploy journal of this host") {
		t.Errorf("a forged journal: %v, want a refusal", err)
	}
	mine, _ := json.Marshal(journalFile{Entries: entries, MAC: h.journalMAC(raw)})
	write(jp, string(mine))
	if err := h.completeJournal(jp); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a journal naming a link: %v, want a refusal", err)
	}
	for p, want := range map[string]string{a: "old a", b: "old b"} {
		if got, _ := os.ReadFile(p); string(got) != want {
			t.Errorf("%s holds %q, want %q: renamed before the journal was refused", p, got, want)
		}
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is no longer a regular file", p)
		}
	}
}
