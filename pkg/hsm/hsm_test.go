package hsm

import (
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
)

func TestReadPIN(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{"1234\n": "1234", "s3cret\r\n": "s3cret", "nonl": "nonl", "a b\nsecond line\n": "a b"} {
		p := filepath.Join(dir, "pin")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readPIN(p)
		if err != nil || string(got) != want {
			t.Errorf("%q: %q, %v; want %q", content, got, err, want)
		}
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	for _, p := range []string{empty, filepath.Join(dir, "absent")} {
		_, err := readPIN(p)
		if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), SettingPINFile) {
			t.Errorf("%s: %v, want exit 6 naming %s", p, err, SettingPINFile)
		}
	}
}

// testPIN is the PIN in the tests' PIN files: not digits alone, which a
// temporary directory's random name may hold (TestOpenRefusedPIN once
// failed on /tmp/TestOpenRefusedPIN312349973, whose name holds "1234").
const testPIN = "pin!Never-in-a-path"

// TestOpenSettings: each missing setting is named (exit 6); a build
// without PKCS#11 support says so whatever the settings.
func TestOpenSettings(t *testing.T) {
	dir := t.TempDir()
	pin := filepath.Join(dir, "pin")
	_ = os.WriteFile(pin, []byte(testPIN+"\n"), 0o600)
	mod := filepath.Join(dir, "module.so")
	_ = os.WriteFile(mod, nil, 0o600)
	for _, c := range []struct {
		set  Settings
		want string
	}{
		{Settings{TokenLabel: "t", PINFile: pin}, SettingModule},
		{Settings{Module: mod, PINFile: pin}, SettingTokenLabel},
		{Settings{Module: mod, TokenLabel: "t"}, SettingPINFile},
		{Settings{Module: filepath.Join(dir, "absent.so"), TokenLabel: "t", PINFile: pin}, SettingModule},
		{Settings{Module: mod, TokenLabel: "t", PINFile: filepath.Join(dir, "absent.pin")}, SettingPINFile},
	} {
		_, err := (&Opener{Settings: c.set}).Open()
		want := c.want
		if !Supported() {
			want = "without PKCS#11 support"
		}
		if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want exit 6 naming %q", c.set, err, want)
		}
		if err != nil && strings.Contains(err.Error(), testPIN) {
			t.Errorf("the PIN is in the error: %v", err)
		}
	}
	var none *Opener
	if _, err := none.Open(); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable {
		t.Errorf("no opener: %v", err)
	}
}

// FuzzReadPIN: any PIN file content gives a PIN of its first line (no line
// end in it) or an error naming the setting without the content.
func FuzzReadPIN(f *testing.F) {
	for _, s := range []string{"1234\n", "", "\n", "a\r\nb", "\x00\xff"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "pin")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		pin, err := readPIN(p)
		if err != nil {
			if !strings.Contains(err.Error(), SettingPINFile) {
				t.Fatalf("error without the setting: %v", err)
			}
			return
		}
		if len(pin) == 0 || strings.ContainsAny(string(pin), "\r\n") || !strings.HasPrefix(string(data), string(pin)) {
			t.Fatalf("%q gave PIN %q", data, pin)
		}
	})
}

// stubToken is a closer that counts its closes; its operations fail with
// err when set.
type stubToken struct {
	closed int
	err    error
}

func (s *stubToken) Generate(string, string) (crypto.Signer, []byte, error) { return nil, nil, s.err }
func (s *stubToken) Find(string, []byte) (crypto.Signer, []byte, error)     { return nil, nil, s.err }
func (s *stubToken) Delete(string, []byte) error                            { return s.err }
func (s *stubToken) Close() error                                           { s.closed++; return nil }

// stubSettings are settings whose module and PIN file exist.
func stubSettings(t *testing.T) Settings {
	dir := t.TempDir()
	pin := filepath.Join(dir, "pin")
	mod := filepath.Join(dir, "module.so")
	_ = os.WriteFile(pin, []byte(testPIN+"\n"), 0o600)
	_ = os.WriteFile(mod, nil, 0o600)
	return Settings{Module: mod, TokenLabel: "t", PINFile: pin}
}

// TestOpenRefusedPIN: once the token refused the PIN of the PIN file, a
// long-running certctl (ca serve, endpoint serve) does not log in with it
// again at each request — a hardware token locks its PIN after a few
// wrong ones — until the file changes.
func TestOpenRefusedPIN(t *testing.T) {
	set := stubSettings(t)
	logins := 0
	refused := true
	o := &Opener{Settings: set, open: func(_ Settings, pin []byte) (closer, error) {
		logins++
		if refused {
			return nil, pinRefused(set, "CKR_PIN_INCORRECT")
		}
		return &stubToken{}, nil
	}}
	for i := 0; i < 3; i++ {
		_, err := o.Open()
		if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), SettingPINFile) || strings.Contains(err.Error(), testPIN) {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	if logins != 1 {
		t.Errorf("%d logins with the refused PIN, want 1", logins)
	}
	// The file is fixed: the next Open logs in with the new PIN.
	refused = false
	later := time.Now().Add(time.Second)
	if err := os.WriteFile(set.PINFile, []byte("5678\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(set.PINFile, later, later)
	if _, err := o.Open(); err != nil || logins != 2 {
		t.Errorf("open after the PIN file changed: %v, %d logins", err, logins)
	}
}

// TestOpenResetStale: a failure of a token session that was already
// replaced (a key of the old session failing after another goroutine
// reopened the token) does not close the new session.
func TestOpenResetStale(t *testing.T) {
	var opened []*stubToken
	o := &Opener{Settings: stubSettings(t), open: func(Settings, []byte) (closer, error) {
		tok := &stubToken{}
		opened = append(opened, tok)
		return tok, nil
	}}
	old, err := o.Open()
	if err != nil {
		t.Fatal(err)
	}
	o.Reset() // the token went away and came back
	cur, err := o.Open()
	if err != nil || len(opened) != 2 {
		t.Fatalf("reopen: %v (%d sessions)", err, len(opened))
	}
	opened[0].err = errs.VaultErrorf("closed")
	if _, _, err := old.Find("k", nil); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable {
		t.Fatalf("old session: %v", err)
	}
	if opened[1].closed != 0 {
		t.Errorf("a failure of the old session closed the new one")
	}
	if _, err := o.Open(); err != nil || len(opened) != 2 {
		t.Errorf("the new session was dropped: %v (%d sessions)", err, len(opened))
	}
	// A failure of the current session resets it.
	opened[1].err = errs.VaultErrorf("removed")
	_, _, _ = cur.Find("k", nil)
	if opened[1].closed != 1 {
		t.Errorf("a failing current session was not closed")
	}
}

// TestOpenWarnsOfAPINFileOpenToAll: a PIN file every user may read is
// read all the same, and Warn is told so once a process (a server opens
// the token again after a reset), naming the setting and the chmod; one
// of mode 0600 gets no word (review: the passphrase files' warning did
// not reach the PIN file).
func TestOpenWarnsOfAPINFileOpenToAll(t *testing.T) {
	for _, c := range []struct {
		mode os.FileMode
		want int
	}{{0o644, 1}, {0o600, 0}, {0o640, 0}} {
		set := stubSettings(t)
		if err := os.Chmod(set.PINFile, c.mode); err != nil {
			t.Fatal(err)
		}
		var told []string
		set.Warn = func(m string) { told = append(told, m) }
		o := &Opener{Settings: set, open: func(Settings, []byte) (closer, error) { return &stubToken{}, nil }}
		for i := 0; i < 2; i++ {
			if _, err := o.Open(); err != nil {
				t.Fatal(err)
			}
			o.Reset()
		}
		if len(told) != c.want {
			t.Fatalf("mode %04o: told %q, want %d warning", c.mode, told, c.want)
		}
		if c.want == 1 && (!strings.Contains(told[0], SettingPINFile+" "+set.PINFile+" can be read by every user") || !strings.Contains(told[0], "(mode 0644): chmod o-r ")) {
			t.Errorf("warning %q", told[0])
		}
		for _, m := range told {
			if strings.Contains(m, testPIN) {
				t.Errorf("the PIN in %q", m)
			}
		}
	}
}
