// Package config loads certctl's settings: flags over CERTCTL_* environment
// variables over the config file over defaults. It is the only package that
// touches viper; commands read the typed Config.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"os/user"
	pathpkg "path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/shellarg"
	"github.com/certctl/certctl/pkg/timeutil"
)

// Kind is the type of a setting's value.
type Kind string

// Kinds of setting.
const (
	String   Kind = "string"
	Duration Kind = "duration"
	Int      Kind = "int"
	Bool     Kind = "bool"
	List     Kind = "list"
)

// Key describes one setting.
type Key struct {
	Name    string
	Kind    Kind
	Default string
	Help    string
	// Check, when set, is the range of a value that parses as Kind (a
	// number at least 1, a port, a positive duration…). Load and Set both
	// apply it, so a value refused here never reaches the file.
	Check func(value string) error
}

// setCheck is what Set asks of a new value of the setting name beyond its
// Check: a rule added after values were written, which Load does not
// enforce, so that a file written before it stops no command (the one the
// value would break checks it itself: endpoint serve its base URL).
func setCheck(name string) func(string) error {
	switch name {
	case "endpoint.listen", "ca.listen":
		// Checked where it is used (endpoint serve, whose --listen
		// overrides it): a bad value in the environment or an older
		// file stops no other command, config list included (tester).
		return listenAddr
	case "endpoint.base_url":
		return CheckHTTPSBaseURL
	case "ca.base_url":
		return CheckBaseURL
	case "hooks.event":
		return checkHookCommand
	}
	return nil
}

// Keys are every setting of SPEC section 3, in display order, with the
// checks of their values: the one table that Load, Set and Validate use.
var Keys = []Key{
	{"region", String, "local", "region part of ARNs", CheckARNComponent},
	{"account", String, "000000000000", "account part of ARNs", CheckARNComponent},
	{"vault", String, "", "vault directory (default ${XDG_DATA_HOME:-~/.local/share}/certctl)", nil},
	{"store", String, "", "store URL (default: the embedded SQLite database in the vault)", storeURL},
	{"certificate_validity", Duration, "395d", "validity of issued certificates", aMinuteOrMore},
	{"renewal.window", Duration, "60d", "renew this long before NotAfter", positive},
	{"renewal.email_window", Duration, "45d", "renewal window of EMAIL-validated certificates", positive},
	{"validation.resolvers", List, "", "DNS resolvers (host:port, or host for port 53) for validation checks (default: the system's)", hostPorts},
	{"validation.dns_zone", String, "acm-validations.certctl.local", "zone that DNS validation CNAMEs point into", dnsZone},
	{"validation.http_base_url", String, "", "base URL under which `validate serve-http` content is published", httpURL},
	{"validation.http_port", Int, "80", "port used to fetch RedirectFrom URLs and ACME http-01 challenges", port},
	{"validation.tls_alpn_port", Int, "443", "port used for ACME tls-alpn-01 challenges", port},
	{"validation.caa_identities", List, "certctl.local", "CA identities accepted in CAA records", caaIdentities},
	{"smtp.addr", String, "", "SMTP server host:port for validation email (default: write .eml files to the outbox)", serverAddr},
	{"smtp.from", String, "certctl@localhost", "sender of validation email", mailAddress},
	{"smtp.username", String, "", "SMTP user name", nil},
	{"smtp.password_file", String, "", "file holding the SMTP password", nil},
	{"smtp.starttls", Bool, "false", "require STARTTLS", nil},
	{"endpoint.listen", String, "127.0.0.1:8443", "listen address of `endpoint serve`", nil}, // setCheck: listenAddr
	{"endpoint.base_url", String, "", "public base URL of the ACME endpoints (https://, as ACME requires; endpoint serve refuses another)", httpURL},
	{"ca.base_url", String, "", "base URL embedded in CRL distribution point and OCSP URLs", httpURL},
	{"ca.listen", String, "127.0.0.1:8080", "listen address of `ca serve`", nil}, // setCheck: listenAddr
	{"hooks.event", String, "", "command that receives each event as JSON on stdin, run with sh -c in / (at most 30 s an event; after a run that timed out, a command runs it no more for 5 minutes; endpoint serve runs it for every event)", nil},
	{"hooks.output", String, "terminal", "where deploy commands' output goes: terminal (standard error when it is one, else nowhere) or stderr (always: cron mails it, a timer's journal keeps it — as a command handed the key may print it)", oneOf(hooksOutputValues...)},
	{"hooks.allow_exec", String, "auto", "run deploy --exec commands on this host: true, false, or auto (true for a local SQLite vault, false on a shared PostgreSQL store)", autoBool},
	{"host.name", String, "", "name of this host in its deploy targets' labels and in the audit records of its changes (default: the system's host name)", nil},
	{"quotas.domains_per_certificate", Int, "10", "names allowed in one certificate (max 100)", between(1, 100)},
	{"acme.orders_per_hour", Int, "300", "new ACME orders allowed per account and hour", atLeast(1)},
	{"acme.new_accounts_per_hour", Int, "1000", "new ACME accounts allowed per endpoint and hour", atLeast(1)},
	{"pkcs11.module", String, "", "PKCS#11 module library of the token holding PKCS11 CA keys (e.g. /usr/lib/softhsm/libsofthsm2.so)", nil},
	{"pkcs11.token_label", String, "", "label of the PKCS#11 token holding PKCS11 CA keys", nil},
	{"pkcs11.pin_file", String, "", "file holding the PKCS#11 token's user PIN (the PIN is read from this file only)", nil},
}

// between checks a whole number in lo..hi.
func between(lo, hi int) func(string) error {
	return func(v string) error {
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		if n < lo || n > hi {
			return fmt.Errorf("%d is outside %d..%d", n, lo, hi)
		}
		return nil
	}
}

// atLeast checks a whole number of at least lo.
func atLeast(lo int) func(string) error {
	return func(v string) error {
		n, _ := strconv.Atoi(strings.TrimSpace(v))
		if n < lo {
			return fmt.Errorf("%d is less than %d", n, lo)
		}
		return nil
	}
}

// port checks a TCP port, 1..65535.
var port = between(1, 65535)

// positive checks a duration longer than zero.
// CheckARNComponent checks a configured region or account (the rule is
// arn.CheckComponent's: 1 to 64 letters, digits, '-', '_' or '.').
func CheckARNComponent(v string) error { return arn.CheckComponent(v) }

// FlagError is a value given on the command line that its setting refuses.
// It is invalid input (exit 4) as a bad value from the environment or the
// config file is; the flag's name is its whole source, so it needs no hint
// on where to fix it.
type FlagError struct {
	Flag string
	Err  error
}

func (e *FlagError) Error() string { return fmt.Sprintf("--%s: %v", e.Flag, e.Err) }
func (e *FlagError) Unwrap() error { return e.Err }

func positive(v string) error {
	if d, _ := timeutil.ParseDuration(strings.TrimSpace(v)); d <= 0 {
		return fmt.Errorf("%s must be positive", v)
	}
	return nil
}

// aMinuteOrMore checks that a duration is at least a minute: a
// certificate valid for less is expired before anyone can use it (its
// NotBefore is backdated a minute; hostile-input tester: 1s gave an
// EXPIRED certificate, exit 0).
func aMinuteOrMore(v string) error {
	if d, _ := timeutil.ParseDuration(strings.TrimSpace(v)); d < time.Minute {
		return fmt.Errorf("%s is less than a minute", v)
	}
	return nil
}

// oneOf checks that a value is one of choices.
func oneOf(choices ...string) func(string) error {
	return func(v string) error {
		if slices.Contains(choices, strings.TrimSpace(v)) {
			return nil
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(choices, ", "))
	}
}

// The values of the settings that take one of a few words.
var (
	hooksOutputValues = []string{"terminal", "stderr"}
	autoBoolValues    = []string{"true", "false", "auto"}
	boolValues        = []string{"true", "false"}
)

// ValuesOf are the values setting k takes when they are a few words (a
// boolean's, hooks.output's, hooks.allow_exec's), for completion; nil for
// any other.
func ValuesOf(k Key) []string {
	switch {
	case k.Kind == Bool:
		return boolValues
	case k.Name == "hooks.output":
		return hooksOutputValues
	case k.Name == "hooks.allow_exec":
		return autoBoolValues
	}
	return nil
}

// autoBool checks true, false (or another strconv.ParseBool form) or auto.
func autoBool(v string) error {
	v = strings.TrimSpace(v)
	if _, err := strconv.ParseBool(v); err != nil && v != "auto" {
		return fmt.Errorf("%q is not true, false or auto", v)
	}
	return nil
}

// CheckListenAddr checks a listen address: host:port (the host may be
// empty) with a port 0..65535 (0: any free port).
func CheckListenAddr(v string) error { return listenAddr(v) }

// listenAddr checks host:port (the host may be empty) with a port
// 0..65535 (0: any free port).
func listenAddr(v string) error {
	h, p, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port", v)
	}
	if looksNumeric(h) {
		if _, err := netip.ParseAddr(h); err != nil {
			// 999.0.0.1 is no address, and no name a resolver would
			// find (tester: a lookup failure, exit 1).
			return fmt.Errorf("%q: %s is not an IP address", v, h)
		}
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port", v)
	}
	return nil
}

// looksNumeric reports whether h is made of digits and dots only, as an
// IPv4 address is (a host name's last label is never all digits).
func looksNumeric(h string) bool {
	if h == "" {
		return false
	}
	for _, c := range h {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// serverAddr checks the host:port of a server to connect to, or nothing
// (unset): a host and a port 1..65535 or a service name the system knows
// (smtp, submission), as the dialer takes it.
func serverAddr(v string) error {
	if v == "" {
		return nil
	}
	h, p, err := net.SplitHostPort(v)
	if err != nil || h == "" {
		return fmt.Errorf("%q is not host:port", v)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		n, err = net.LookupPort("tcp", p)
	}
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has no valid port", v)
	}
	return nil
}

// storeURL checks a store URL: localstore.CheckStoreURL, which vault
// migrate --to uses too.
func storeURL(v string) error { return localstore.CheckStoreURL(v) }

// dnsZone checks the zone DNS validation CNAMEs point into: a domain name
// (dnsname.Validate) short enough that a CNAME value in it, a 33-octet
// label before it, is a name (253 octets) — a value stored with every
// DNS-validated certificate and printed as a zone-file line (tester: "a
// b;$ORIGIN evil." was written into them).
//
// A zone is a name in DNS, not a certificate's: a single label (internal)
// or a public suffix is taken, and a trailing dot (zone.example.com.) is
// read without it — values that loaded before the check was made (review).
func dnsZone(v string) error {
	const room = 1 + 32 + 1 // "_" + 32 hex digits + "."
	v = strings.TrimSuffix(v, ".")
	var de *dnsname.Error
	if err := dnsname.Validate(v); err != nil && !(errors.As(err, &de) && de.Code == dnsname.CodeInvalidPublicDomain) {
		return err
	}
	if dnsname.IsWildcard(v) {
		return fmt.Errorf("%q is a wildcard, not a zone", v)
	}
	if len(v) > dnsname.MaxNameLength-room {
		return fmt.Errorf("%q is %d octets: a validation CNAME in it would be longer than %d; at most %d", v, len(v), dnsname.MaxNameLength, dnsname.MaxNameLength-room)
	}
	return nil
}

// caaIdentities checks the CA identities a CAA record may name (RFC 8659
// issuer domain names): each a domain name. None at all is a setting too
// (a name with CAA records then fails validation), one that loaded before
// the check was made (review).
func caaIdentities(v string) error {
	for _, id := range SplitList(v) {
		if err := dnsname.Validate(id); err != nil || dnsname.IsWildcard(id) {
			return fmt.Errorf("%q is not a CA identity (a domain name, as in CAA's issue \"letsencrypt.org\")", id)
		}
	}
	return nil
}

// mailAddress checks the sender of validation email: an address
// (user@host), or one with a display name (PKI Team <user@host>).
func mailAddress(v string) error {
	if _, err := mail.ParseAddress(v); err != nil {
		return fmt.Errorf("%q is not an email address (user@host, or Name <user@host>)", v)
	}
	return nil
}

// hostPorts checks a list of resolvers: host or host:port each (the
// resolver adds port 53 to a bare host).
func hostPorts(v string) error {
	for _, hp := range SplitList(v) {
		h, p, err := net.SplitHostPort(hp)
		if err != nil {
			// A bare host: a name or an address, nothing else.
			if !resolverHost(hp) {
				return fmt.Errorf("%q is not a host or host:port", hp)
			}
			continue
		}
		// The host as a bare host is checked (tester: "bad host:53"
		// was written to the file), and a server's port is 1..65535.
		if !resolverHost(h) {
			return fmt.Errorf("%q is not a host or host:port", hp)
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has no valid port (1-65535)", hp)
		}
	}
	return nil
}

// resolverHost reports whether h names a DNS server: an IP address (with a
// colon, only an IPv6 one, with its zone if any: x:y:z is neither), or a
// host name of letters, digits, '-', '_' and '.'.
func resolverHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true // fe80::1%eth0 too
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// checkHookCommand refuses a hooks.event command that names its program
// by a relative path (shellarg.CheckHookCommand).
func checkHookCommand(v string) error {
	var rel *shellarg.RelativeProgramError
	if err := shellarg.CheckHookCommand(v); errors.As(err, &rel) {
		return fmt.Errorf("%v: %s", rel, rel.Fix())
	}
	return nil
}

// CheckBaseURL checks a base URL other URLs are made from by appending a
// path (ca.base_url: CRL and OCSP URLs in every certificate issued): an
// absolute http or https URL without credentials, query or fragment
// (httpURL), as strict as strictURL, or nothing.
func CheckBaseURL(v string) error {
	if err := httpURL(v); err != nil || v == "" {
		return err
	}
	return strictURL(v)
}

// CheckHTTPSBaseURL is CheckBaseURL for endpoint.base_url: https:// only —
// ACME clients use HTTPS (RFC 8555 section 6.1) and endpoint serve serves
// TLS (a proxy in front passes it through or re-encrypts).
func CheckHTTPSBaseURL(v string) error {
	if err := CheckBaseURL(v); err != nil || v == "" {
		return err
	}
	if u, _ := url.Parse(v); u.Scheme != "https" {
		return fmt.Errorf("%q is not an https:// URL: ACME clients use HTTPS only, and endpoint serve serves TLS", shownURL(v))
	}
	return nil
}

// httpURL checks a base URL: an absolute http or https URL without
// credentials, query or fragment, or nothing (unset). Refused wherever it
// comes from (not only by config set): the URLs made from it go into
// every certificate issued (review), and a token in it would be published
// there (verification tester).
func httpURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("%q is not an http:// or https:// URL", shownURL(v))
	case u.User != nil:
		return fmt.Errorf("%q has a user name or password: a base URL names no credentials, and every URL made from it would show them", shownURL(v))
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(v, "?#"):
		return fmt.Errorf("%q has a query or fragment (not shown): a base URL is scheme, host, port and path", shownURL(v))
	}
	return nil
}

// shownURL is a base URL as a message about it shows it: without its user
// information, whatever its scheme (a user name alone may be a token) —
// all before its last "@" — and cut after a "?" or "#" (a query or
// fragment may hold one too).
func shownURL(v string) string {
	start := 0
	if i := strings.Index(v, "://"); i >= 0 {
		start = i + 3
	} else if strings.HasPrefix(v, "//") {
		start = 2
	}
	// The last "@": a password may hold "/", "?" or "#" unescaped
	// (review), and a path's "@" hides the host too — more than needed,
	// never less.
	if at := strings.LastIndexByte(v[start:], '@'); at >= 0 {
		v = v[:start] + "xxxxx" + v[start+at:]
		start += len("xxxxx")
	}
	if i := strings.IndexAny(v[start:], "?#"); i >= 0 {
		v = v[:start+i+1] + "…"
	}
	return v
}

// strictURL checks what a base URL must be beyond httpURL (Set and the
// server that uses it apply it, not Load; see setCheck): its scheme in
// lower case as every URL made from it is written, a host, a port (when
// given) from 1 to 65535 (credentials are httpURL's to refuse).
func strictURL(v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not an http:// or https:// URL", shownURL(v))
	case !strings.HasPrefix(v, u.Scheme+"://"):
		return fmt.Errorf("%q: write the scheme in lower case (%s://), as the URLs made from it are", shownURL(v), u.Scheme)
	case u.Hostname() == "":
		return fmt.Errorf("%q has no host", shownURL(v))
	case strings.HasSuffix(u.Host, ":"):
		return fmt.Errorf("%q has an empty port", shownURL(v))
	case strings.ContainsAny(v, " \t"):
		return fmt.Errorf("%q has a space: every URL made from it would", shownURL(v))
	}
	// A path as clients send it back: no ".", "..", or empty segment, which
	// they would normalise away (RFC 3986 section 5.2.4) to a URL not
	// served (second tester).
	if p := strings.TrimSuffix(u.EscapedPath(), "/"); p != "" && pathpkg.Clean(p) != p {
		return fmt.Errorf("%q has a path with an empty, . or .. segment", shownURL(v))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has port %s: a port is 1 to 65535", shownURL(v), p)
		}
	}
	return nil
}

// Config is the typed view of the settings.
type Config struct {
	Region  string
	Account string
	Vault   string
	// VaultDefaulted is set when Vault is the default under the home
	// directory, no flag, variable or file naming one.
	VaultDefaulted      bool
	Store               string
	CertificateValidity time.Duration
	RenewalWindow       time.Duration
	RenewalEmailWindow  time.Duration
	Resolvers           []string
	DNSZone             string
	HTTPBaseURL         string
	HTTPPort            int
	CAAIdentities       []string
	SMTPAddr            string
	SMTPFrom            string
	SMTPUsername        string
	SMTPPasswordFile    string
	SMTPStartTLS        bool
	EndpointListen      string
	EndpointBaseURL     string
	CABaseURL           string
	CAListen            string
	EventHook           string
	// HooksAllowExec is hooks.allow_exec: "true", "false" or "auto" (see
	// AllowExec).
	HooksAllowExec string
	// HooksOutput is hooks.output: "terminal" or "stderr".
	HooksOutput string
	// HostName is host.name ("" for the system's host name).
	HostName              string
	DomainsPerCertificate int
	TLSALPNPort           int
	OrdersPerHour         int
	NewAccountsPerHour    int
	// PKCS11Module, PKCS11TokenLabel and PKCS11PINFile choose the token of
	// PKCS11 CA keys (pkcs11.module, pkcs11.token_label, pkcs11.pin_file).
	PKCS11Module     string
	PKCS11TokenLabel string
	PKCS11PINFile    string

	// File is the config file in use (it may not exist).
	File string
	v    *viper.Viper
	// from is where each setting not at its default came from ("config
	// file PATH", "environment variable NAME", "flag --NAME").
	from map[string]string
	// issuingInvalid and otherInvalid are the refusals of the
	// IssuingKeys settings and of the others (LoadNotIssuing).
	issuingInvalid, otherInvalid error
}

// LookupKey finds a setting by name.
func LookupKey(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// EnvName is the environment variable of a setting.
func EnvName(key string) string {
	return "CERTCTL_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// DefaultFile is ${XDG_CONFIG_HOME:-~/.config}/certctl/config.yaml ("" when
// no home directory is known: see home).
func DefaultFile(getenv func(string) string) string {
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		h := home(getenv)
		if h == "" {
			return ""
		}
		base = filepath.Join(h, ".config")
	}
	return filepath.Join(base, "certctl", "config.yaml")
}

// DefaultVault is ${XDG_DATA_HOME:-~/.local/share}/certctl ("" when no home
// directory is known).
func DefaultVault(getenv func(string) string) string {
	base := getenv("XDG_DATA_HOME")
	if base == "" {
		h := home(getenv)
		if h == "" {
			return ""
		}
		base = filepath.Join(h, ".local", "share")
	}
	return filepath.Join(base, "certctl")
}

// home is the user's home directory: $HOME, else the account's in the
// password database — a systemd service without User= has no HOME
// (newcomer tester: the renewal timer read ./.config under /, and a
// command run without HOME made a vault in the working directory). ""
// when neither gives an absolute path: the defaults are then not guessed
// (opening the vault, or config set, says what to set).
func home(getenv func(string) string) string {
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return h
	}
	if u, err := currentUser(); err == nil && filepath.IsAbs(u.HomeDir) {
		return u.HomeDir
	}
	return ""
}

// currentUser is user.Current (tests replace it).
var currentUser = user.Current

// Load reads the settings. file is the --config flag (empty: the default
// file, which may be absent); flags maps setting names to changed flags.
func Load(file string, flags map[string]*pflag.Flag, getenv func(string) string) (*Config, error) {
	c, invalid, err := load(file, flags, getenv)
	if err != nil {
		return nil, err
	}
	if invalid != nil {
		return nil, invalid
	}
	return c, nil
}

// LoadLenient is Load for the commands that show the settings (config
// list, config get): a value that a setting refuses does not stop them —
// they are how one finds it (tester) — and the refusals are returned
// apart (invalid), to be shown beside the values. A file that cannot be
// read or parsed, or a bad flag, is still an error.
func LoadLenient(file string, flags map[string]*pflag.Flag, getenv func(string) string) (c *Config, invalid, err error) {
	return load(file, flags, getenv)
}

// IssuingKeys are the settings only issuance uses — its validity, its
// domain validation and mail, the base URLs that go into what is issued
// or served, the ACME servers' limits. See LoadNotIssuing.
var IssuingKeys = []string{"certificate_validity",
	"validation.resolvers", "validation.dns_zone", "validation.http_base_url", "validation.http_port",
	"validation.tls_alpn_port", "validation.caa_identities",
	"smtp.addr", "smtp.from", "smtp.username", "smtp.password_file", "smtp.starttls",
	"endpoint.listen", "endpoint.base_url", "ca.base_url", "ca.listen",
	"quotas.domains_per_certificate", "acme.orders_per_hour", "acme.new_accounts_per_hour"}

// LoadNotIssuing is Load for the commands that neither issue nor serve
// certificates (list, describe, export, vault backup, …): a value of an
// IssuingKeys setting that it refuses does not stop them, and is returned
// apart (warnings) with the setting unset in c. Earlier releases took
// values that this one refuses (base URLs with credentials or a query, DNS
// zones and resolvers, a sender address), and an upgrade stopped every
// command, backups included, until they were changed (tester, review);
// the commands that issue or serve still refuse them. Any other refused
// value is still the error.
func LoadNotIssuing(file string, flags map[string]*pflag.Flag, getenv func(string) string) (c *Config, warnings, err error) {
	c, invalid, err := load(file, flags, getenv)
	if err != nil || invalid == nil {
		return c, nil, err
	}
	if c.otherInvalid != nil {
		return nil, nil, c.otherInvalid
	}
	return c, c.issuingInvalid, nil
}

func load(file string, flags map[string]*pflag.Flag, getenv func(string) string) (*Config, error, error) {
	v := viper.New()
	explicit := file != ""
	flagFile := explicit
	// unknown are the keys of the file that name no setting: refused as
	// a value a setting refuses is (every command but config list and
	// get, which show them as warnings: a typo in a setting's name is not
	// ignored), not an error that stops config too, which removes them
	// (tester: certctl could not remove the key that stopped it).
	var unknown []error
	if file == "" {
		file = getenv("CERTCTL_CONFIG")
		explicit = file != ""
	}
	if file == "" {
		file = DefaultFile(getenv)
	}
	// from is where each setting that is not its default comes from, for
	// the message of a bad value.
	from := map[string]string{}
	for _, k := range Keys {
		v.SetDefault(k.Name, k.Default)
		// Bind explicitly rather than AutomaticEnv so the getenv seam is used.
		if val := getenv(EnvName(k.Name)); val != "" {
			v.Set(k.Name, val)
			from[k.Name] = "environment variable " + EnvName(k.Name)
		}
	}
	if data, err := readConfigFile(file); err == nil {
		// The file names commands certctl runs (hooks.event): nobody
		// else may be able to change it.
		if err := fsutil.CheckNotWritableByOthers(file); err != nil {
			return nil, nil, fmt.Errorf("config file %s: %w", file, err)
		}
		flat, err := parseFile(data)
		if err != nil {
			return nil, nil, fmt.Errorf("config file %s: %v", file, err)
		}
		for _, name := range slices.Sorted(maps.Keys(flat)) {
			val := flat[name]
			k, ok := LookupKey(name)
			if !ok {
				unknown = append(unknown, &UnknownKeyError{File: file, Name: name, FlagFile: flagFile})
				continue
			}
			if _, list := val.([]any); list && k.Kind != List {
				// A YAML list where one value goes: hooks.event: [echo,
				// hi] ran the command "echo,hi" (tester).
				return nil, nil, fmt.Errorf("config file %s: %s takes one %s, not a list", file, name, k.Kind)
			}
			if getenv(EnvName(name)) == "" {
				v.Set(name, val)
				from[name] = "config file " + file
			}
		}
	} else if !(errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) || explicit {
		// A default path through a file (HOME set to one) is no config
		// file, as a missing one is (tester: every command failed).
		return nil, nil, fmt.Errorf("config file: %w", err)
	}
	for name, f := range flags {
		if f != nil && f.Changed {
			if k, ok := LookupKey(name); ok {
				if err := Validate(k, f.Value.String()); err != nil {
					return nil, nil, &FlagError{Flag: f.Name, Err: err}
				}
			}
			v.Set(name, f.Value.String())
			from[name] = "flag --" + f.Name
		}
	}
	c := &Config{File: file, v: v, from: from}
	invalid := c.decode(getenv)
	if unknown != nil {
		c.otherInvalid = errors.Join(append(unknown, c.otherInvalid)...)
		invalid = errors.Join(append(unknown, invalid)...)
	}
	return c, invalid, nil
}

// UnknownKeyError is a key of the config file that names no setting.
type UnknownKeyError struct {
	File, Name string
	// FlagFile: the file was given with --config.
	FlagFile bool
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("config file %s: %s", e.File, UnknownSetting(e.Name))
}

// Fix is the command that removes the key from the file.
func (e *UnknownKeyError) Fix() string {
	return "remove it from the file with `" + e.unset() + "`"
}

func (e *UnknownKeyError) unset() string {
	cmd := "certctl config unset " + shellarg.Quote(e.Name)
	if e.FlagFile {
		cmd += " --config " + shellarg.Quote(e.File)
	}
	return cmd
}

// UnknownKeysFix is the hint for every UnknownKeyError in err (errors it
// joins): the command that removes each ("" when there is none) — a file
// with two mistyped keys was told of the first only (review).
func UnknownKeysFix(err error) string {
	var cmds []string
	var walk func(error)
	walk = func(err error) {
		var u *UnknownKeyError
		switch x := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		default:
			if errors.As(err, &u) {
				cmds = append(cmds, "`"+u.unset()+"`")
			}
		}
	}
	walk(err)
	switch len(cmds) {
	case 0:
		return ""
	case 1:
		return "remove it from the file with " + cmds[0]
	}
	return "remove them from the file with " + strings.Join(cmds, ", ")
}

// UnknownSettingError is config set's or unset's name of no setting
// (that the config file does not hold, for unset).
type UnknownSettingError struct{ Name string }

func (e *UnknownSettingError) Error() string { return UnknownSetting(e.Name) }

func flatten(prefix string, in map[string]any, out map[string]any) {
	// In name order, so that a setting written twice (renewal.window and
	// renewal: {window}) reads the same every time: the later name wins.
	for _, k := range slices.Sorted(maps.Keys(in)) {
		val := in[k]
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if m, ok := val.(map[string]any); ok {
			flatten(name, m, out)
			continue
		}
		out[name] = val
	}
}

// Raw returns the effective value of a setting as text. The vault shows
// the directory in use, its default included.
func (c *Config) Raw(name string) string {
	if name == "vault" && c.Vault != "" {
		return c.Vault
	}
	return valueText(c.v.Get(name))
}

// valueText is a setting's value, as read from the file or the
// environment, as text: a list's items joined by commas.
func valueText(val any) string {
	switch t := val.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(t))
		for i, p := range t {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ",")
	case []string:
		return strings.Join(t, ",")
	}
	return fmt.Sprint(val)
}

func (c *Config) decode(getenv func(string) string) error {
	var errs, issuing, other []error
	refused := map[string]bool{}
	for _, k := range Keys {
		if err := Validate(k, c.Raw(k.Name)); err != nil {
			if src := c.from[k.Name]; src != "" {
				err = fmt.Errorf("%v (from the %s)", err, src)
			}
			err = fmt.Errorf("setting %s: %v", k.Name, err)
			errs = append(errs, err)
			refused[k.Name] = true
			if slices.Contains(IssuingKeys, k.Name) {
				issuing = append(issuing, err)
			} else {
				other = append(other, err)
			}
		}
	}
	c.issuingInvalid, c.otherInvalid = errors.Join(issuing...), errors.Join(other...)
	// A refused value is never used: it reads as unset below (the
	// default is not used either), and only LoadLenient's callers, which
	// show the raw values, and LoadNotIssuing's, for the IssuingKeys, see
	// the Config then.
	str := func(name string) string {
		if refused[name] {
			return ""
		}
		return c.Raw(name)
	}
	dur := func(name string) time.Duration {
		d, _ := timeutil.ParseDuration(strings.TrimSpace(str(name)))
		return d
	}
	num := func(name string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(str(name)))
		return n
	}
	boolean := func(name string) bool {
		b, _ := strconv.ParseBool(strings.TrimSpace(str(name)))
		return b
	}
	c.Region = str("region")
	c.Account = str("account")
	c.Vault = str("vault")
	if c.Vault == "" {
		c.Vault = DefaultVault(getenv) // "" without a home: the vault's opening says so
		c.VaultDefaulted = c.Vault != ""
	}
	c.Store = str("store")
	c.CertificateValidity = dur("certificate_validity")
	c.RenewalWindow = dur("renewal.window")
	c.RenewalEmailWindow = dur("renewal.email_window")
	c.Resolvers = SplitList(str("validation.resolvers"))
	c.DNSZone = strings.TrimSuffix(str("validation.dns_zone"), ".")
	c.HTTPBaseURL = str("validation.http_base_url")
	c.HTTPPort = num("validation.http_port")
	c.TLSALPNPort = num("validation.tls_alpn_port")
	c.CAAIdentities = SplitList(str("validation.caa_identities"))
	c.SMTPAddr = str("smtp.addr")
	c.SMTPFrom = str("smtp.from")
	c.SMTPUsername = str("smtp.username")
	c.SMTPPasswordFile = str("smtp.password_file")
	c.SMTPStartTLS = boolean("smtp.starttls")
	c.EndpointListen = str("endpoint.listen")
	c.EndpointBaseURL = str("endpoint.base_url")
	c.CABaseURL = str("ca.base_url")
	c.CAListen = str("ca.listen")
	c.EventHook = str("hooks.event")
	c.HooksAllowExec = strings.TrimSpace(str("hooks.allow_exec"))
	c.HooksOutput = strings.TrimSpace(str("hooks.output"))
	c.HostName = strings.TrimSpace(str("host.name"))
	c.DomainsPerCertificate = num("quotas.domains_per_certificate")
	c.OrdersPerHour = num("acme.orders_per_hour")
	c.NewAccountsPerHour = num("acme.new_accounts_per_hour")
	c.PKCS11Module = strings.TrimSpace(str("pkcs11.module"))
	c.PKCS11TokenLabel = str("pkcs11.token_label")
	c.PKCS11PINFile = strings.TrimSpace(str("pkcs11.pin_file"))
	return errors.Join(errs...)
}

// AllowExec reports whether this host runs deploy --exec commands:
// hooks.allow_exec, whose default (auto) is true for a local SQLite vault
// and false on a shared PostgreSQL store, where anyone who can write the
// database could otherwise have every host run a command.
func (c *Config) AllowExec() bool {
	if b, err := strconv.ParseBool(c.HooksAllowExec); err == nil {
		return b
	}
	return !c.SharedStore()
}

// SharedStore reports whether the store is a PostgreSQL database that
// many hosts may share.
func (c *Config) SharedStore() bool { return localstore.IsPostgresURL(c.Store) }

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Source tells where a setting's effective value comes from: from what
// Load read, the file not read again (review: config list read it once a
// setting, and a file given as a pipe, <(…), held nothing the second
// time).
func (c *Config) Source(name string, flags map[string]*pflag.Flag, getenv func(string) string) string {
	if f := flags[name]; f != nil && f.Changed {
		return "flag"
	}
	if getenv(EnvName(name)) != "" {
		return "env"
	}
	if strings.HasPrefix(c.from[name], "config file ") {
		return "file"
	}
	return "default"
}

// maxConfigFile is the largest config file read: a few hundred bytes is
// usual, and a file of megabytes is not one.
const maxConfigFile = 1 << 20

// readConfigFile reads the config file, at most maxConfigFile bytes of it:
// a file, or a pipe (--config <(…), /dev/stdin) or /dev/null. Reading a
// named pipe nobody writes to waits (cmdutil's Factory.Config gives up on
// an interruption).
func readConfigFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigFile {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a config file", file, maxConfigFile)
	}
	return data, nil
}

// parseFile decodes a config file into its settings by flat name. A number
// is kept as written, as text, when YAML reads it as something else:
// YAML takes 010 for 8, 0x50 for 80, 1_000 for 1000 and 012345678912 for a
// float, where the setting means decimal (a port, a quota) or the very
// digits (an account such as 000000000000). An integer setting then reads
// 010 as 10 and refuses 0x50 as it does from the environment and from
// `config set`.
func parseFile(data []byte) (map[string]any, error) {
	vals := map[string]any{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, oneLine(err)
	}
	flat := map[string]any{}
	flatten("", vals, flat)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, oneLine(err)
	}
	keepNumerals("", &doc, flat)
	return flat, nil
}

// keepNumerals replaces in flat each scalar of n written as decimal digits
// (with an optional sign) whose decoded value does not print as written,
// by its text: YAML reads 010 as 8 and 012345678912 as a float, where a
// setting means ten, or the very digits of an account. Other numbers stay
// as YAML reads them (0x50 is 80, 1_000 is 1000, 80.0 is 80), as they
// always were; so do a list's items.
func keepNumerals(name string, n *yaml.Node, flat map[string]any) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			keepNumerals(name, c, flat)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if name != "" {
				k = name + "." + k
			}
			keepNumerals(k, n.Content[i+1], flat)
		}
	case yaml.SequenceNode:
		items, ok := flat[name].([]any)
		if !ok || len(items) != len(n.Content) {
			return
		}
		for i, c := range n.Content {
			if decimalNumeral(c) && fmt.Sprint(items[i]) != c.Value {
				items[i] = c.Value
			}
		}
	case yaml.ScalarNode:
		if v, ok := flat[name]; ok && decimalNumeral(n) && fmt.Sprint(v) != n.Value {
			flat[name] = n.Value
		}
	}
}

// decimalNumeral reports whether n is a plain int or float scalar written
// as decimal digits with an optional sign.
func decimalNumeral(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode || n.Style != 0 {
		return false
	}
	if tag := n.ShortTag(); tag != "!!int" && tag != "!!float" {
		return false
	}
	digits := strings.TrimLeft(n.Value, "+-")
	if digits == "" || len(n.Value)-len(digits) > 1 {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Validate checks that value suits the setting: it parses as the key's
// Kind and passes the key's Check.
func Validate(k Key, value string) error {
	v := strings.TrimSpace(value)
	switch k.Kind {
	case Duration:
		if _, err := timeutil.ParseDuration(v); err != nil {
			return err
		}
	case Int:
		if _, err := strconv.Atoi(v); err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
	case Bool:
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%q is not true or false", value)
		}
	case List:
		// As the list flags refuse one (cmdutil.SplitListFlag): an
		// empty item is a mistake, not an item to drop (review).
		if v != "" && slices.ContainsFunc(strings.Split(value, ","), func(p string) bool { return strings.TrimSpace(p) == "" }) {
			return fmt.Errorf("%q holds an empty item (two commas in a row, or a comma at an end)", value)
		}
	}
	if k.Check != nil {
		return k.Check(value)
	}
	return nil
}

// Set writes one setting into the config file (created 0600 with its
// directory 0700), keeping the others.
func Set(file, name, value string) error {
	_, err := SetSetting(file, name, value)
	return err
}

// Edit is what config set or unset did to the file.
type Edit struct {
	// Changed: the file held the setting (unset), or was written (set).
	Changed bool
	// CommentsDropped: the file was printed afresh from its settings,
	// without the comments it had (an edit in place would not read back
	// as meant: YAML anchors or aliases).
	CommentsDropped bool
	// Unknown: unset removed a key that names no setting.
	Unknown bool
}

// UnknownSetting is the message of a setting name no key has, with the
// keys it may be a typo of (as for flags and enumerated values; tester: a
// typo in the config file got no suggestion).
func UnknownSetting(name string) string {
	names := make([]string, len(Keys))
	for i, k := range Keys {
		names[i] = k.Name
	}
	msg := fmt.Sprintf("unknown setting %q", name)
	if sugg := enum.Nearest(name, names); len(sugg) > 0 {
		msg += ": did you mean " + strings.Join(sugg, " or ") + "?"
	}
	return msg
}

// SetSetting is Set, reporting what it did to the file.
func SetSetting(file, name, value string) (Edit, error) {
	k, ok := LookupKey(name)
	if !ok {
		return Edit{}, errors.New(UnknownSetting(name))
	}
	if err := Validate(k, value); err != nil {
		return Edit{}, fmt.Errorf("setting %s: %v", name, err)
	}
	// YAML holds text: a value that is not UTF-8 cannot be written (one
	// from the environment or a flag is used as it is).
	if !utf8.ValidString(value) {
		return Edit{}, fmt.Errorf("setting %s: %q is not UTF-8 text", name, localstore.RedactURL(value))
	}
	// A setting is one line (a path, a URL, a name, a list): a control
	// character in it is a mistake, and YAML cannot always hold it.
	if strings.ContainsFunc(value, unicode.IsControl) {
		return Edit{}, fmt.Errorf("setting %s: %q holds a control character", name, localstore.RedactURL(value))
	}
	if check := setCheck(name); check != nil && strings.TrimSpace(value) != "" {
		if err := check(strings.TrimSpace(value)); err != nil {
			return Edit{}, fmt.Errorf("setting %s: %v", name, err)
		}
	}
	file, err := editedFile(file)
	if err != nil {
		return Edit{}, err
	}
	data, err := readConfigFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Edit{}, err
	}
	if _, err := parseFile(data); err != nil {
		return Edit{}, fmt.Errorf("config file %s: %w", file, err)
	}
	return editSettings(file, data, name, typedValue(k, value), false)
}

// typedValue is value (checked by Validate) as SetSetting writes it into
// the file for k: a list, a number, a boolean or text.
func typedValue(k Key, value string) any {
	switch k.Kind {
	case List:
		return SplitList(value)
	case Int:
		n, _ := strconv.Atoi(strings.TrimSpace(value))
		return n
	case Bool:
		b, _ := strconv.ParseBool(strings.TrimSpace(value))
		return b
	case Duration:
		return strings.TrimSpace(value)
	}
	return value
}

// ShownValue is value, just written for the setting name by SetSetting, as
// config get shows it once read back from the file (Shown): a list joined
// by commas, a number or boolean in its usual spelling, a secret hidden.
// config set prints it, in config get's shape.
func ShownValue(name, value string) string {
	if k, ok := LookupKey(name); ok {
		return shown(name, valueText(typedValue(k, value)))
	}
	return shown(name, value)
}

// UnsetSetting removes the setting name from file, so that its default
// (or the environment's value) applies again; a file without it is left
// as it is. A key of the file that names no setting is removed too
// (Edit.Unknown): every command but config refuses to run while the file
// holds one (UnknownKeyError). A name of no setting that the file does
// not hold is an *UnknownSettingError. The Edit says what it did to the
// file.
func UnsetSetting(file, name string) (Edit, error) {
	_, known := LookupKey(name)
	file, err := editedFile(file)
	if err != nil {
		if !known {
			return Edit{}, &UnknownSettingError{Name: name}
		}
		return Edit{}, err
	}
	data, err := readConfigFile(file)
	if errors.Is(err, os.ErrNotExist) {
		if !known {
			return Edit{}, &UnknownSettingError{Name: name}
		}
		return Edit{}, nil
	}
	if err != nil {
		return Edit{}, err
	}
	flat, err := parseFile(data)
	if err != nil {
		return Edit{}, fmt.Errorf("config file %s: %w", file, err)
	}
	if _, ok := flat[name]; !ok {
		if !known {
			return Edit{}, &UnknownSettingError{Name: name}
		}
		return Edit{}, nil
	}
	edit, err := editSettings(file, data, name, nil, true)
	edit.Unknown = !known
	return edit, err
}

// editSettings writes file (whose content was data) with the setting
// name set to value, or removed, and the rest as it was written
// (editedSettings): atomically, 0600.
func editSettings(file string, data []byte, name string, value any, remove bool) (Edit, error) {
	out, inPlace, err := editedSettings(data, name, value, remove)
	if err != nil {
		return Edit{}, fmt.Errorf("config file %s: %w", file, err)
	}
	if err := fsutil.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return Edit{}, err
	}
	if err := fsutil.WriteFileAtomic(file, out, 0o600); err != nil {
		return Edit{}, err
	}
	return Edit{Changed: true, CommentsDropped: !inPlace && bytes.Contains(data, []byte("#"))}, nil
}

// editedFile is the file config set and unset edit for file: the file
// behind its links (a dotfiles checkout's config stays a link), refused
// when it is a device or a pipe, which is never read or replaced (tester:
// --config /dev/null replaced /dev/null, as root).
func editedFile(file string) (string, error) {
	out, err := fsutil.ResolveOutput(file, nil)
	if err != nil {
		return "", err
	}
	if out.Special {
		return "", fmt.Errorf("%s is not a regular file: config set and unset edit a file", file)
	}
	return out.Path, nil
}

// Shown is the value of a setting as certctl prints it: like Raw, but a
// password inside a URL (a PostgreSQL --store) is replaced by "xxxxx",
// and a base URL is shown as its messages show it (shownURL: no user
// information, nothing after a "?" or "#"), so that config list and get
// never print a secret.
func (c *Config) Shown(name string) string { return shown(name, c.Raw(name)) }

// shown is the text value of the setting name as Shown prints it.
func shown(name, value string) string {
	if baseURLKeys[name] {
		return shownURL(value)
	}
	return RedactURL(value)
}

// baseURLKeys are the settings checked as base URLs (httpURL).
var baseURLKeys = map[string]bool{"validation.http_base_url": true, "endpoint.base_url": true, "ca.base_url": true}

// RedactURL hides the secrets of a store URL (see localstore.RedactURL).
func RedactURL(s string) string { return localstore.RedactURL(s) }

// oneLine is a YAML error on one line: yaml.v3 lists the errors of a
// document ("yaml: unmarshal errors:\n  line 3: …") one a line.
func oneLine(err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	msg := strings.Join(lines, " ")
	msg = strings.Replace(msg, "unmarshal errors: ", "", 1)
	return errors.New(msg)
}
