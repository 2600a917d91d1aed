package validation

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation/validationtest"
	"github.com/certctl/certctl/pkg/x509util"
)

var codeLine = regexp.MustCompile(`(?m)^Approval code: ([A-Z2-7]{32})\r?$`)

func TestValidationEmails(t *testing.T) {
	for in, want := range map[string]string{
		"www.example.test":     "example.test",
		"*.example.test":       "example.test",
		"*.www.example.test":   "example.test",
		"shop.example.test":    "shop.example.test",
		"wwwx.example.test":    "wwwx.example.test",
		"WWW.Example.TEST.":    "example.test",
		"www.shop.example.tld": "shop.example.tld",
	} {
		got := ValidationEmails(in)
		var exp []string
		for _, l := range []string{"admin", "administrator", "hostmaster", "postmaster", "webmaster"} {
			exp = append(exp, l+"@"+want)
		}
		if !slices.Equal(got, exp) {
			t.Errorf("%s: %v", in, got)
		}
	}
}

// TestEmailSMTPApprove: five messages through a real SMTP server, each with
// the ARN, names and the approval code; the code validates the name and,
// for the last name, issues the certificate; a used code is refused.
func TestEmailSMTPApprove(t *testing.T) {
	f := newFixture(t)
	smtpd := validationtest.StartSMTP(t)
	pw := "s3cret"
	f.svc.Mailer = &SMTPMailer{Addr: smtpd.Addr, From: "certctl@vault.test", Username: "ops", Password: pw, Now: f.clk.Now}
	c, msgs := f.request(MethodEmail, x509util.ECPrime256v1, []string{"www.shop.example.test", "api.example.test"},
		DomainValidationOption{DomainName: "api.example.test", ValidationDomain: "example.test"})
	if len(msgs) != 10 {
		t.Fatalf("%d messages", len(msgs))
	}
	if err := f.svc.Send(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	got := smtpd.Messages()
	if len(got) != 10 {
		t.Fatalf("server received %d messages", len(got))
	}
	codes := map[string]string{} // name → code
	var rcpts []string
	arn := f.svc.ARN(c.ID)
	for _, m := range got {
		if len(m.To) != 1 || m.From != "certctl@vault.test" || m.Auth != " ops "+pw {
			t.Errorf("envelope %+v", m)
		}
		rcpts = append(rcpts, m.To[0])
		// (the server's dot-reader turns CRLF into LF)
		if !strings.Contains(m.Data, "\nCertificate ARN: "+arn+"\n") {
			t.Errorf("no ARN in %q", m.Data)
		}
		code := codeLine.FindStringSubmatch(m.Data)
		if code == nil {
			t.Fatalf("no approval code line in %q", m.Data)
		}
		name := "www.shop.example.test"
		if strings.Contains(m.Data, "\nDomain name: api.example.test\n") {
			name = "api.example.test"
			if !strings.Contains(m.Data, "\nValidation domain: example.test\n") {
				t.Errorf("validation domain missing: %q", m.Data)
			}
		}
		if prev, ok := codes[name]; ok && prev != code[1] {
			t.Errorf("two codes for %s", name)
		}
		codes[name] = code[1]
	}
	slices.Sort(rcpts)
	want := append(ValidationEmails("shop.example.test"), ValidationEmails("example.test")...)
	slices.Sort(want)
	if !slices.Equal(rcpts, want) {
		t.Errorf("recipients %v, want %v", rcpts, want)
	}
	if codes["www.shop.example.test"] == codes["api.example.test"] {
		t.Error("two names share a code")
	}
	// Only hashes are stored.
	if err := f.svc.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		objs, err := tx.ListObjects(codeKind)
		for _, o := range objs {
			for _, code := range codes {
				if strings.Contains(string(o.Data)+o.ID, code) {
					t.Error("an approval code is stored in clear")
				}
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	cert, name, err := f.approve(strings.ToLower(codes["api.example.test"]))
	if err != nil || name != "api.example.test" || cert.Status != inventory.StatusPendingValidation {
		t.Fatalf("approve: %v %s %v", err, name, cert)
	}
	if _, _, err := f.approve(codes["api.example.test"]); exitOf(err) != errs.ExitRefused {
		t.Errorf("reused code: %v", err)
	}
	cert, _, err = f.approve(codes["www.shop.example.test"])
	if err != nil || cert.Status != inventory.StatusIssued {
		t.Fatalf("approve last: %v %v", err, cert)
	}
	if _, _, err := f.approve("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); exitOf(err) != errs.ExitNotFound {
		t.Errorf("unknown code: %v", err)
	}
	if _, _, err := f.approve("not-a-code"); exitOf(err) != errs.ExitInvalid {
		t.Errorf("malformed code: %v", err)
	}
}

func TestApprovalCodeExpires(t *testing.T) {
	f := newFixture(t)
	_, msgs := f.request(MethodEmail, x509util.ECPrime256v1, []string{"late.example.test"})
	f.clk.t = f.clk.t.Add(Timeout)
	_, _, err := f.approve(msgs[0].Code)
	if exitOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired code: %v", err)
	}
}

// TestResend: a superdomain gets its own addresses (for this message only)
// and a new code; the old code stops working; a domain that is not a
// superdomain is refused.
func TestResend(t *testing.T) {
	f := newFixture(t)
	c, first := f.request(MethodEmail, x509util.ECPrime256v1, []string{"www.shop.example.test"})
	var msgs []Message
	err := f.svc.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
		var err error
		msgs, err = f.svc.Resend(tx, c.ID, "WWW.shop.example.test", "example.test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range msgs {
		to = append(to, m.To)
		if m.Code == first[0].Code || m.ValidationDomain != "example.test" {
			t.Errorf("message %+v", m)
		}
	}
	if !slices.Equal(to, ValidationEmails("example.test")) {
		t.Errorf("resent to %v", to)
	}
	// The validation domain is used for these messages only (ACM: "not
	// saved").
	if got := f.get(c.ID).Validations[0]; got.ValidationDomain != "www.shop.example.test" || !slices.Equal(got.Emails, ValidationEmails("shop.example.test")) {
		t.Errorf("validation %+v", got)
	}
	if _, _, err := f.approve(first[0].Code); exitOf(err) != errs.ExitRefused {
		t.Errorf("superseded code: %v", err)
	}
	for _, bad := range []string{"other.test", "shop.example.tes", "www.www.shop.example.test", "*.example.test"} {
		err := f.svc.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
			_, err := f.svc.Resend(tx, c.ID, "www.shop.example.test", bad)
			return err
		})
		if exitOf(err) != errs.ExitInvalid {
			t.Errorf("validation domain %s: %v", bad, err)
		}
	}
	if cert, _, err := f.approve(msgs[0].Code); err != nil || cert.Status != inventory.StatusIssued {
		t.Errorf("new code: %v", err)
	}
}

func TestOutboxMailer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	m := &OutboxMailer{Dir: dir, From: "certctl@localhost", Now: func() time.Time { return now }}
	var msgs []Message
	for _, to := range ValidationEmails("example.test") {
		msgs = append(msgs, Message{To: to, CertificateARN: "arn:x", DomainName: "example.test", ValidationDomain: "example.test", Code: "CODE", ExpiresAt: now.Add(Timeout)})
	}
	if err := m.Send(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("outbox %v %v", st, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 5 {
		t.Fatalf("%d files", len(files))
	}
	for _, p := range files {
		st, _ := os.Stat(p)
		b, _ := os.ReadFile(p)
		if st.Mode().Perm() != 0o600 || !strings.Contains(string(b), "\r\nApproval code: CODE\r\n") || !strings.Contains(string(b), "To: ") {
			t.Errorf("%s: %v %q", p, st.Mode(), b)
		}
	}
}

// TestOutboxMailerLongName: a validation domain of 253 octets makes an
// address longer than a file name may be; the message is written all the
// same, under a shortened name, with the whole address in its To (tester).
func TestOutboxMailerLongName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	m := &OutboxMailer{Dir: dir, From: "certctl@localhost", Now: func() time.Time { return now }}
	label := strings.Repeat("b", 60)
	domain := label + "." + label + "." + label + "." + strings.Repeat("c", 57) + ".example.test"
	if len(domain) != 253 {
		t.Fatalf("test name of %d octets", len(domain))
	}
	to := "postmaster@" + domain
	if err := m.Send(context.Background(), []Message{{To: to, CertificateARN: "arn:x", DomainName: domain, ValidationDomain: domain, Code: "CODE", ExpiresAt: now.Add(Timeout)}}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), "To: "+to+"\r\n") {
		t.Errorf("the message does not carry the whole address:\n%s", b)
	}
}

func TestParseDomainValidationOption(t *testing.T) {
	o, err := ParseDomainValidationOption("ValidationDomain=example.test, DomainName=www.example.test")
	if err != nil || o.DomainName != "www.example.test" || o.ValidationDomain != "example.test" {
		t.Errorf("%+v %v", o, err)
	}
	for _, bad := range []string{"", "DomainName=a.test", "DomainName=a.test,ValidationDomain=", "DomainName=a,DomainName=b,ValidationDomain=c",
		"Domain=a.test,ValidationDomain=a.test", "DomainName", "a.test",
		// Keys are spelt exactly, as in the AWS CLI.
		"domainname=a.test,ValidationDomain=a.test", "DomainName=a.test,validationDomain=a.test"} {
		if _, err := ParseDomainValidationOption(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	vds, err := ValidationDomains([]string{"www.shop.example.test", "*.example.test"},
		[]DomainValidationOption{{DomainName: "*.example.test", ValidationDomain: "Example.Test"}})
	if err != nil || vds["*.example.test"] != "example.test" || vds["www.shop.example.test"] != "www.shop.example.test" {
		t.Errorf("%v %v", vds, err)
	}
	if _, err := ValidationDomains([]string{"a.example.test"}, []DomainValidationOption{{DomainName: "b.example.test", ValidationDomain: "example.test"}}); err == nil {
		t.Error("an option for a name not in the request was accepted")
	}
	if _, err := ValidationDomains([]string{"a.example.test"}, []DomainValidationOption{{DomainName: "a.example.test", ValidationDomain: "b.example.test"}}); err == nil {
		t.Error("a sibling validation domain was accepted")
	}
}

// ContactAddresses drops the addresses that cannot exist: all of them
// under a public suffix or a single label (NO_AVAILABLE_CONTACTS), and
// those longer than a mail path allows.
func TestContactAddresses(t *testing.T) {
	if got := ContactAddresses("www.example.test"); len(got) != 5 {
		t.Errorf("www.example.test: %v", got)
	}
	for _, none := range []string{"www.co.uk", "*.co.uk", "co.uk", "www.com", "localhost", "www.test"} {
		if got := ContactAddresses(none); len(got) != 0 {
			t.Errorf("%s: %v, want none", none, got)
		}
	}
	// A 246-octet mail domain leaves room for admin@ only (252 octets);
	// webmaster@ would be 256.
	label := strings.Repeat("a", 60)
	long := label + "." + label + "." + label + "." + strings.Repeat("b", 50) + ".example.test"
	if len(long) != 246 {
		t.Fatalf("test domain is %d octets", len(long))
	}
	if got := ContactAddresses(long); len(got) != 1 || got[0] != "admin@"+long {
		t.Errorf("long domain: %v", got)
	}
}

// TestEmailSenderWithName: an smtp.from with a display name is the From
// header, and its address alone the envelope sender and the Message-ID's
// host (review: the whole value went into MAIL FROM, which servers
// refuse).
func TestEmailSenderWithName(t *testing.T) {
	f := newFixture(t)
	smtpd := validationtest.StartSMTP(t)
	f.svc.Mailer = &SMTPMailer{Addr: smtpd.Addr, From: "PKI Team <pki@vault.test>", Now: f.clk.Now}
	_, msgs := f.request(MethodEmail, x509util.ECPrime256v1, []string{"named.example.test"})
	if err := f.svc.Send(context.Background(), msgs[:1]); err != nil {
		t.Fatal(err)
	}
	got := smtpd.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages", len(got))
	}
	m := got[0]
	if m.From != "pki@vault.test" || !strings.Contains(m.Data, "\nFrom: \"PKI Team\" <pki@vault.test>\n") && !strings.HasPrefix(m.Data, "From: \"PKI Team\" <pki@vault.test>\n") ||
		!regexp.MustCompile(`\nMessage-ID: <[0-9a-f]+@vault\.test>\n`).MatchString(m.Data) {
		t.Errorf("envelope sender %q, message:\n%s", m.From, m.Data)
	}
}

// TestSenderQuotedLocalPart: an address whose local part needs quoting
// keeps its quotes as the envelope sender (review).
func TestSenderQuotedLocalPart(t *testing.T) {
	for from, want := range map[string]string{
		`"a b"@pki.example.test`:            `"a b"@pki.example.test`,
		`PKI <"a b"@pki.example.test>`:      `"a b"@pki.example.test`,
		`certs@pki.example.test`:            `certs@pki.example.test`,
		`PKI Team <certs@pki.example.test>`: `certs@pki.example.test`,
	} {
		if _, addr := sender(from); addr != want {
			t.Errorf("sender(%q) = %q, want %q", from, addr, want)
		}
	}
}

// TestSMTPAuthWithoutTLSSaysHow (tester): to a server that is not this
// host, without smtp.starttls, net/smtp sends no password; the error says
// to set smtp.starttls, and holds no password.
func TestSMTPAuthWithoutTLSSaysHow(t *testing.T) {
	smtpd := validationtest.StartSMTPAt(t, "127.0.0.2:0")
	m := &SMTPMailer{Addr: smtpd.Addr, From: "certctl@vault.test", Username: "ops", Password: "s3cret-pw", Now: time.Now}
	err := m.Send(context.Background(), []Message{{To: "admin@example.test", DomainName: "example.test", Code: "123456", ExpiresAt: time.Now().Add(time.Hour)}})
	if err == nil || !strings.Contains(err.Error(), "set smtp.starttls true") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Send: %v", err)
	}
	if len(smtpd.Messages()) != 0 {
		t.Error("a message was delivered")
	}
}

// TestEmailApprovalHonoursCAA: a CAA record that forbids this CA fails the
// certificate its last approval would issue (CAA_ERROR); the CAA records
// are read for an EMAIL approval too (tester: it was issued).
func TestEmailApprovalHonoursCAA(t *testing.T) {
	f := newFixture(t)
	f.dns.Add(t, `caae.test. 60 IN CAA 0 issue "other-ca.example"`)
	c, msgs := f.request(MethodEmail, x509util.ECPrime256v1, []string{"www.caae.test"})
	got, _, err := f.approve(msgs[0].Code)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != inventory.StatusFailed || got.FailureReason != ReasonCAA {
		t.Fatalf("certificate %s %s (%s), want FAILED CAA_ERROR", c.ID, got.Status, got.FailureReason)
	}
	// One CAA allows: issued.
	f.dns.Add(t, `ok.test. 60 IN CAA 0 issue "certctl.local"`)
	_, msgs = f.request(MethodEmail, x509util.ECPrime256v1, []string{"www.ok.test"})
	if got, _, err = f.approve(msgs[0].Code); err != nil || got.Status != inventory.StatusIssued {
		t.Fatalf("allowed: %v %v", got.Status, err)
	}
}

// TestResentCodeExpiresWithTheRequest: a code resent for a pending
// certificate expires when the certificate's validation times out, not
// 72 hours after it was sent (tester: the mail promised three days more).
func TestResentCodeExpiresWithTheRequest(t *testing.T) {
	f := newFixture(t)
	c, first := f.request(MethodEmail, x509util.ECPrime256v1, []string{"late.example.test"})
	f.clk.t = f.clk.t.Add(Timeout - time.Hour)
	var msgs []Message
	if err := f.svc.Vault.Store.Update(context.Background(), func(tx localstore.Tx) error {
		var err error
		msgs, err = f.svc.Resend(tx, c.ID, "late.example.test", "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 || !msgs[0].ExpiresAt.Equal(first[0].ExpiresAt) {
		t.Fatalf("resent code expires %v, want the request's %v", msgs[0].ExpiresAt, first[0].ExpiresAt)
	}
}

// TestSMTPErrorHoldsNoPassword: a server whose refusal quotes the AUTH
// line it was sent (base64 of the user and password) puts no password in
// the error (team tester: the warning showed the encoded password).
func TestSMTPErrorHoldsNoPassword(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		fmt.Fprint(c, "220 echo.test ESMTP\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
			case "EHLO", "HELO":
				fmt.Fprint(c, "250-echo.test\r\n250 AUTH PLAIN\r\n")
			case "AUTH":
				fmt.Fprintf(c, "535 auth failed for %s\r\n", strings.TrimSpace(line))
			default:
				fmt.Fprint(c, "221 bye\r\n")
				return
			}
		}
	}()
	m := &SMTPMailer{Addr: l.Addr().String(), From: "certctl@vault.test", Username: "ops", Password: "s3cret-pw", Now: time.Now}
	err = m.Send(context.Background(), []Message{{To: "admin@example.test", DomainName: "example.test", Code: "123456", ExpiresAt: time.Now().Add(time.Hour)}})
	plain := base64.StdEncoding.EncodeToString([]byte("\x00ops\x00s3cret-pw"))
	if err == nil || !strings.Contains(err.Error(), "auth failed for AUTH PLAIN [REDACTED]") || strings.Contains(err.Error(), plain) {
		t.Errorf("Send: %v", err)
	}
}
