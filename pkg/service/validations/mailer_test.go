package validations

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

// TestMailerWarnsOfAPasswordFileOpenToAll: an smtp.password_file every
// user may read is used all the same, with a warning naming the setting
// and the chmod, never the password; one of mode 0600 gets no word
// (review: the passphrase files' warning did not reach it).
func TestMailerWarnsOfAPasswordFileOpenToAll(t *testing.T) {
	smtpd := validationtest.StartSMTP(t)
	for _, c := range []struct {
		mode os.FileMode
		want bool
	}{{0o644, true}, {0o600, false}} {
		file := filepath.Join(t.TempDir(), "smtp.pass")
		if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(file, c.mode); err != nil {
			t.Fatal(err)
		}
		var told []string
		m := &mailer{set: MailSettings{Addr: smtpd.Addr, From: "certctl@vault.test", Username: "ops", PasswordFile: file,
			Warn: func(s string) { told = append(told, s) }}, now: time.Now}
		msg := validation.Message{To: "admin@example.test", CertificateARN: "arn:x", DomainName: "example.test",
			ValidationDomain: "example.test", Code: "123456", ExpiresAt: time.Now().Add(time.Hour)}
		if err := m.Send(context.Background(), []validation.Message{msg}); err != nil {
			t.Fatal(err)
		}
		if got := len(told) == 1 && strings.Contains(told[0], "smtp.password_file "+file+" can be read by every user") &&
			strings.Contains(told[0], "(mode 0644): chmod o-r "); got != c.want {
			t.Errorf("mode %04o: told %q, want a warning: %v", c.mode, told, c.want)
		}
		for _, s := range told {
			if strings.Contains(s, "s3cret") {
				t.Errorf("the password in %q", s)
			}
		}
	}
	if n := len(smtpd.Messages()); n != 2 {
		t.Errorf("%d messages sent, want 2 (the password used in both cases)", n)
	}
}
