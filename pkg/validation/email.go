package validation

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/fsutil"
)

// EmailLocalParts are the administrative addresses validation email goes to.
var EmailLocalParts = []string{"admin", "administrator", "hostmaster", "postmaster", "webmaster"}

// EmailDomain is the domain whose addresses receive validation email for
// validationDomain: a leading "*." and then a leading "www." are removed.
func EmailDomain(validationDomain string) string {
	d := dnsname.Normalize(strings.TrimSuffix(validationDomain, "."))
	d = strings.TrimPrefix(d, "*.")
	return strings.TrimPrefix(d, "www.")
}

// ValidationEmails are the five addresses of validationDomain.
func ValidationEmails(validationDomain string) []string {
	d := EmailDomain(validationDomain)
	out := make([]string, len(EmailLocalParts))
	for i, l := range EmailLocalParts {
		out[i] = l + "@" + d
	}
	return out
}

// maxMailbox is the longest address a mail path can carry (RFC 5321
// section 4.5.3.1.3: a 256-octet path, angle brackets included).
const maxMailbox = 254

// ContactAddresses are the addresses of ValidationEmails(validationDomain)
// that can exist: none when the mail domain is a public suffix or a single
// label (no one administers admin@co.uk), and none longer than a mail path
// allows. An empty list is ACM's NO_AVAILABLE_CONTACTS.
func ContactAddresses(validationDomain string) []string {
	d := EmailDomain(validationDomain)
	if !strings.Contains(d, ".") || dnsname.IsPublicSuffix(d) {
		return nil
	}
	var out []string
	for _, a := range ValidationEmails(validationDomain) {
		if len(a) <= maxMailbox {
			out = append(out, a)
		}
	}
	return out
}

// Message is one validation email.
type Message struct {
	To               string
	CertificateARN   string
	DomainName       string
	ValidationDomain string
	Code             string
	ExpiresAt        time.Time
}

// Subject is the message's subject line.
func (m Message) Subject() string {
	return "Certificate approval for " + m.DomainName
}

// Body is the message's text.
func (m Message) Body() string {
	lines := []string{
		"A certificate was requested for a name of your domain. If you requested it,",
		"approve it with the code below; otherwise ignore this message.",
		"",
		"Certificate ARN: " + m.CertificateARN,
		"Domain name: " + m.DomainName,
		"Validation domain: " + m.ValidationDomain,
		"Approval code: " + m.Code,
		"Expires: " + m.ExpiresAt.UTC().Format(time.RFC3339),
		"",
		"To approve:",
		"  certctl validate approve --code " + m.Code,
		"",
	}
	return strings.Join(lines, "\r\n")
}

// sender reads smtp.from — an address (certs@pki.example.test), or one
// with a display name (PKI Team <certs@pki.example.test>) — as the From
// header and the bare address, which is the envelope sender and names
// the host of the Message-ID (review: a display name, refused by config
// until then, went whole into MAIL FROM). A value that does not parse
// (checked when the configuration is loaded) is used as it is.
func sender(from string) (header, addr string) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return from, from
	}
	// The address as written in mail: a local part that needs quoting
	// ("a b"@host) keeps its quotes (review: MAIL FROM got a b@host).
	addr = strings.TrimSuffix(strings.TrimPrefix((&mail.Address{Address: a.Address}).String(), "<"), ">")
	return a.String(), addr
}

// Bytes renders the message (RFC 5322) from sender at date.
func (m Message) Bytes(from string, date time.Time) ([]byte, error) {
	id, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	header, addr := sender(from)
	host := addr[strings.LastIndexByte(addr, '@')+1:]
	var b bytes.Buffer
	hdr := func(k, v string) {
		// Every value is built from validated names, ARNs and settings;
		// line breaks are removed all the same.
		v = strings.NewReplacer("\r", "", "\n", "").Replace(v)
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	hdr("From", header)
	hdr("To", m.To)
	hdr("Subject", m.Subject())
	hdr("Date", date.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+id+"@"+host+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	hdr("X-Certctl-Certificate-Arn", m.CertificateARN)
	b.WriteString("\r\n")
	b.WriteString(m.Body())
	return b.Bytes(), nil
}

// Mailer delivers validation messages.
type Mailer interface {
	Send(ctx context.Context, msgs []Message) error
}

// SMTPMailer sends through an SMTP server, one message per recipient.
type SMTPMailer struct {
	Addr     string
	From     string
	Username string
	Password string
	StartTLS bool
	// TLSConfig verifies the server on STARTTLS; nil means the system
	// roots and the host of Addr.
	TLSConfig *tls.Config
	Now       func() time.Time
	// Timeout bounds one delivery run; 0 means a minute.
	Timeout time.Duration
}

// Send delivers msgs over one connection.
func (m *SMTPMailer) Send(ctx context.Context, msgs []Message) (err error) {
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The server's replies are quoted in the errors: one that echoes
	// what it was sent would put the password in a warning (team tester:
	// "535 auth failed for AUTH PLAIN <base64 credentials>").
	defer func() { err = m.withoutCredentials(err) }()
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("smtp.addr %q: %v", m.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("SMTP server %s: %v", m.Addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP server %s: %v", m.Addr, err)
	}
	defer c.Close()
	if m.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("SMTP server %s does not offer STARTTLS (smtp.starttls is set)", m.Addr)
		}
		cfg := m.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("SMTP STARTTLS with %s: %v", m.Addr, err)
		}
	}
	if m.Username != "" && m.Password != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			if !m.StartTLS && strings.Contains(err.Error(), "unencrypted connection") {
				// net/smtp sends a password over TLS only (tester:
				// the message did not say how to get there).
				return fmt.Errorf("SMTP authentication with %s refused: the password is sent only over TLS; set smtp.starttls true", m.Addr)
			}
			return fmt.Errorf("SMTP authentication with %s failed: %v", m.Addr, err)
		}
	}
	for _, msg := range msgs {
		data, err := msg.Bytes(m.From, m.Now())
		if err != nil {
			return err
		}
		_, envelope := sender(m.From)
		if err := sendOne(c, envelope, msg.To, data); err != nil {
			return fmt.Errorf("SMTP delivery to %s via %s: %v", msg.To, m.Addr, err)
		}
	}
	return c.Quit()
}

// withoutCredentials is err with the password, and the PLAIN and LOGIN
// encodings of it net/smtp sends, replaced by "[REDACTED]".
func (m *SMTPMailer) withoutCredentials(err error) error {
	if err == nil || m.Password == "" {
		return err
	}
	msg := err.Error()
	out := msg
	for _, secret := range []string{
		base64.StdEncoding.EncodeToString([]byte("\x00" + m.Username + "\x00" + m.Password)),
		base64.StdEncoding.EncodeToString([]byte(m.Password)),
		m.Password,
	} {
		out = strings.ReplaceAll(out, secret, "[REDACTED]")
	}
	if out == msg {
		return err
	}
	return errors.New(out)
}

func sendOne(c *smtp.Client, from, to string, data []byte) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

// OutboxMailer writes each message as an .eml file (0600) into Dir (0700)
// when no SMTP server is configured.
type OutboxMailer struct {
	Dir  string
	From string
	Now  func() time.Time
}

// Send writes msgs to the outbox.
func (m *OutboxMailer) Send(ctx context.Context, msgs []Message) error {
	if err := fsutil.MkdirAll(m.Dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(m.Dir, 0o700); err != nil {
		return err
	}
	for _, msg := range msgs {
		now := m.Now()
		data, err := msg.Bytes(m.From, now)
		if err != nil {
			return err
		}
		suffix, err := randomHex(4)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s-%s-%s.eml", now.UTC().Format("20060102T150405Z"), suffix, safeFileName(msg.To))
		if err := fsutil.WriteFileAtomic(filepath.Join(m.Dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// maxAddressInName bounds the address in an outbox file's name: a name
// of 253 octets makes a longer address than a file name may be (255
// bytes), and the message was not written (tester). The random suffix
// keeps names apart; the whole address is in the message's To.
const maxAddressInName = 96

func safeFileName(s string) string {
	if len(s) > maxAddressInName {
		s = s[:maxAddressInName]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '@' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// approval codes

const codeKind = "validation-approval-code"

func codeKey(name string) string { return "validation.email.code." + name }

// codeRecord is a stored approval code: only its hash is kept (as the
// object ID).
type codeRecord struct {
	CertificateID string    `json:"certificateId"`
	DomainName    string    `json:"domainName"`
	CreatedAt     time.Time `json:"createdAt"`
	ExpiresAt     time.Time `json:"expiresAt"`
	UsedAt        time.Time `json:"usedAt,omitzero"`
	Superseded    bool      `json:"superseded,omitempty"`
}

var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newApprovalCode returns a random approval code (160 bits, base32) and
// the ID it is stored under.
func newApprovalCode() (code, id string, err error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	code = codeEncoding.EncodeToString(b)
	return code, codeID(code), nil
}

// NormalizeCode puts a typed approval code in canonical form: upper case,
// without spaces or dashes.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '\r' || r == '\n':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// codeID is the stored form of a code: the SHA-256 of its canonical form.
// Codes carry 160 random bits, so a fast hash is enough.
func codeID(code string) string {
	sum := sha256.Sum256([]byte(NormalizeCode(code)))
	return hex.EncodeToString(sum[:])
}

// validCodeSyntax reports whether code can be an approval code.
func validCodeSyntax(code string) bool {
	c := NormalizeCode(code)
	if len(c) != 32 {
		return false
	}
	_, err := codeEncoding.DecodeString(c)
	return err == nil
}
