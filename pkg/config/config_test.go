package config

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/certctl/certctl/pkg/timeutil"
)

// fakeEnv is a getenv over a map.
func fakeEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// flags returns the setting flags with the given ones set, as the root
// command's --region/--vault/... would be.
func flags(t *testing.T, set map[string]string) map[string]*pflag.Flag {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	out := map[string]*pflag.Flag{}
	for _, n := range []string{"region", "account", "vault", "store"} {
		fs.String(n, "", "")
		out[n] = fs.Lookup(n)
	}
	for k, v := range set {
		if err := fs.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	home := t.TempDir()
	c, err := Load("", nil, fakeEnv(map[string]string{"HOME": home}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "local" || c.Account != "000000000000" {
		t.Errorf("region/account %q %q", c.Region, c.Account)
	}
	if c.CertificateValidity != 395*timeutil.Day || c.RenewalWindow != 60*timeutil.Day || c.RenewalEmailWindow != 45*timeutil.Day {
		t.Errorf("durations %v %v %v", c.CertificateValidity, c.RenewalWindow, c.RenewalEmailWindow)
	}
	if c.DomainsPerCertificate != 10 || c.HTTPPort != 80 || c.SMTPStartTLS {
		t.Errorf("ints/bools %d %d %v", c.DomainsPerCertificate, c.HTTPPort, c.SMTPStartTLS)
	}
	if want := filepath.Join(home, ".local", "share", "certctl"); c.Vault != want || c.Raw("vault") != want {
		t.Errorf("vault %q, Raw %q, want %q", c.Vault, c.Raw("vault"), want)
	}
	if want := filepath.Join(home, ".config", "certctl", "config.yaml"); c.File != want {
		t.Errorf("file %q, want %q", c.File, want)
	}
	if c.Source("region", nil, fakeEnv(nil)) != "default" {
		t.Error("region source is not default")
	}
	for _, k := range Keys {
		if k.Default == "" {
			continue
		}
		if err := Validate(k, k.Default); err != nil {
			t.Errorf("default of %s is invalid: %v", k.Name, err)
		}
	}
}

func TestXDGPaths(t *testing.T) {
	env := fakeEnv(map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/cfg", "XDG_DATA_HOME": "/data"})
	if got := DefaultFile(env); got != "/cfg/certctl/config.yaml" {
		t.Errorf("DefaultFile %q", got)
	}
	if got := DefaultVault(env); got != "/data/certctl" {
		t.Errorf("DefaultVault %q", got)
	}
	if got := EnvName("renewal.email_window"); got != "CERTCTL_RENEWAL_EMAIL_WINDOW" {
		t.Errorf("EnvName %q", got)
	}
}

// TestPrecedence checks flag > env > file > default, one setting at each level.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, `
region: file-region
account: "111111111111"
certificate_validity: 30d
renewal:
  window: 20d
validation:
  resolvers: [127.0.0.1:53, "127.0.0.1:5353"]
quotas:
  domains_per_certificate: 50
`)
	env := fakeEnv(map[string]string{
		"CERTCTL_REGION":                    "env-region",
		"CERTCTL_ACCOUNT":                   "222222222222",
		"CERTCTL_RENEWAL_EMAIL_WINDOW":      "10d",
		"CERTCTL_VALIDATION_CAA_IDENTITIES": "a.example, b.example",
		"HOME":                              t.TempDir(),
	})
	fl := flags(t, map[string]string{"region": "flag-region"})
	c, err := Load(file, fl, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, value, source string
	}{
		{"region", "flag-region", "flag"},
		{"account", "222222222222", "env"},
		{"renewal.email_window", "10d", "env"},
		{"certificate_validity", "30d", "file"},
		{"renewal.window", "20d", "file"},
		{"validation.resolvers", "127.0.0.1:53,127.0.0.1:5353", "file"},
		{"quotas.domains_per_certificate", "50", "file"},
		{"smtp.from", "certctl@localhost", "default"},
	} {
		if got := c.Raw(tc.key); got != tc.value {
			t.Errorf("%s = %q, want %q", tc.key, got, tc.value)
		}
		if got := c.Source(tc.key, fl, env); got != tc.source {
			t.Errorf("%s source %q, want %q", tc.key, got, tc.source)
		}
	}
	if c.Region != "flag-region" || c.Account != "222222222222" || c.CertificateValidity != 30*timeutil.Day ||
		c.RenewalEmailWindow != 10*timeutil.Day || c.DomainsPerCertificate != 50 {
		t.Errorf("typed: %+v", c)
	}
	if strings.Join(c.Resolvers, "|") != "127.0.0.1:53|127.0.0.1:5353" || strings.Join(c.CAAIdentities, "|") != "a.example|b.example" {
		t.Errorf("lists %q %q", c.Resolvers, c.CAAIdentities)
	}
}

func TestConfigEnvFile(t *testing.T) {
	file := writeFile(t, "certificate_validity: 7d\n")
	c, err := Load("", nil, fakeEnv(map[string]string{"CERTCTL_CONFIG": file}))
	if err != nil {
		t.Fatal(err)
	}
	if c.CertificateValidity != 7*timeutil.Day || c.File != file {
		t.Errorf("CERTCTL_CONFIG not used: %v %q", c.CertificateValidity, c.File)
	}
}

func TestLoadErrors(t *testing.T) {
	home := fakeEnv(map[string]string{"HOME": t.TempDir()})
	for _, tc := range []struct {
		name, file, want string
		env              map[string]string
	}{
		{"unknown key", "renewal:\n  windw: 3d\n", `unknown setting "renewal.windw"`, nil},
		{"not yaml", "region: [x\n", "config file", nil},
		{"duplicate key", "region: a\nregion: b\n", `yaml: line 2: mapping key "region" already defined at line 1`, nil},
		{"several errors", "region: a\nregion: b\naccount: 1\naccount: 2\n", `mapping key "region" already defined at line 1 line 4: mapping key "account"`, nil},
		{"bad duration", "certificate_validity: forever\n", "setting certificate_validity", nil},
		{"bad int", "validation:\n  http_port: eighty\n", "setting validation.http_port", nil},
		{"quota range", "quotas:\n  domains_per_certificate: 101\n", "outside 1..100", nil},
		{"zero validity", "", "is less than a minute", map[string]string{"CERTCTL_CERTIFICATE_VALIDITY": "0s"}},
		// Expired before anyone can use it (hostile-input tester).
		{"validity of a second", "", "1s is less than a minute", map[string]string{"CERTCTL_CERTIFICATE_VALIDITY": "1s"}},
		{"bad env bool", "", "setting smtp.starttls", map[string]string{"CERTCTL_SMTP_STARTTLS": "perhaps"}},
		// A list where one value goes (tester: it ran "echo,hi").
		{"list for a command", "hooks:\n  event: [echo, hi]\n", "hooks.event takes one string, not a list", nil},
		{"list for a port", "validation:\n  http_port: [80]\n", "validation.http_port takes one int, not a list", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := home
			if tc.env != nil {
				env = fakeEnv(tc.env)
			}
			_, err := Load(writeFile(t, tc.file), nil, env)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err %q, want %q on one line", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil, home); err == nil {
		t.Error("an explicit missing file is not an error")
	}
}

func TestSetRoundTrip(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "config.yaml")
	steps := []struct{ key, value string }{
		{"certificate_validity", "30d"},
		{"validation.resolvers", "127.0.0.1:53, 127.0.0.1:5353"},
		{"validation.http_port", "8080"},
		{"smtp.starttls", "true"},
		{"certificate_validity", "90d"},
	}
	for _, s := range steps {
		if err := Set(file, s.key, s.value); err != nil {
			t.Fatalf("Set %s: %v", s.key, err)
		}
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Dir(file)); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %o", st.Mode().Perm())
	}
	c, err := Load(file, nil, fakeEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.CertificateValidity != 90*timeutil.Day || c.HTTPPort != 8080 || !c.SMTPStartTLS ||
		strings.Join(c.Resolvers, "|") != "127.0.0.1:53|127.0.0.1:5353" {
		t.Errorf("loaded %v %d %v %q", c.CertificateValidity, c.HTTPPort, c.SMTPStartTLS, c.Resolvers)
	}
	for _, k := range []string{"certificate_validity", "validation.resolvers", "validation.http_port", "smtp.starttls"} {
		if c.Source(k, nil, fakeEnv(nil)) != "file" {
			t.Errorf("%s not from the file", k)
		}
	}
	data, _ := os.ReadFile(file)
	if !strings.Contains(string(data), "validation:\n") || strings.Contains(string(data), "validation.resolvers") {
		t.Errorf("not nested:\n%s", data)
	}

	before, _ := os.ReadFile(file)
	for _, bad := range []struct{ key, value string }{
		{"nosuch", "1"},
		{"certificate_validity", "30x"},
		{"validation.http_port", "eighty"},
		{"smtp.starttls", "perhaps"},
	} {
		if err := Set(file, bad.key, bad.value); err == nil {
			t.Errorf("Set(%s, %s) accepted", bad.key, bad.value)
		}
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Errorf("a refused Set changed the file")
	}
}

func TestSplitList(t *testing.T) {
	if got := SplitList(" a, ,b ,"); strings.Join(got, "|") != "a|b" {
		t.Errorf("%q", got)
	}
	if got := SplitList(""); got != nil {
		t.Errorf("%q", got)
	}
}

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"postgres://u:s3cret@db.internal:5432/certctl?sslmode=disable": "postgres://u:xxxxx@db.internal:5432/certctl?sslmode=disable",
		"postgres://u@db/certctl":                                      "postgres://u@db/certctl",
		"sqlite:/var/lib/v.db":                                         "sqlite:/var/lib/v.db",
		"":                                                             "",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	// A base URL's user name alone may be a token (security tester): the
	// whole user information goes, whatever the scheme, up to the last
	// "@" — a password may hold "/", "?" or "#" (review).
	for in, want := range map[string]string{
		"https://T0KEN@h.example/":          "https://xxxxx@h.example/",
		"https://u:s3cret@h.example":        "https://xxxxx@h.example",
		"https://h.example/x":               "https://h.example/x",
		"https://u:pw@h.example/?t=T0KEN#x": "https://xxxxx@h.example/?…",
		"htps://T0KEN@h.example/":           "htps://xxxxx@h.example/",
		"https://u:pa/ss@h.example/":        "https://xxxxx@h.example/",
		"https://u:p#ss@h.example/x":        "https://xxxxx@h.example/x",
		"https://u:p?s@h.example/x?q=1":     "https://xxxxx@h.example/x?…",
		"T0KEN@h.example":                   "xxxxx@h.example",
	} {
		if got := shownURL(in); got != want {
			t.Errorf("shownURL(%q) = %q, want %q", in, got, want)
		}
	}
	// config list and get show a base URL so, and other settings as they
	// are (a hook's command keeps its "?").
	c, _, err := LoadLenient("", nil, fakeEnv(map[string]string{"HOME": t.TempDir(),
		"CERTCTL_CA_BASE_URL": "https://svc:T0/KEN@h.example/", "CERTCTL_HOOKS_EVENT": "curl -s 'https://h.example/x?a=1'"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Shown("ca.base_url"); got != "https://xxxxx@h.example/" {
		t.Errorf("Shown(ca.base_url) = %q", got)
	}
	if got := c.Shown("hooks.event"); got != "curl -s 'https://h.example/x?a=1'" {
		t.Errorf("Shown(hooks.event) = %q", got)
	}
}

// TestBaseURLErrorsShowNoCredentials: a base URL refused for its user
// information, query or fragment — or for anything, with them — is named
// in the error without them, whatever its scheme; and Load refuses one
// with a query or fragment from the environment, as config set does
// (verification tester: it went into every certificate's CRL and OCSP
// URLs), without showing it.
func TestBaseURLErrorsShowNoCredentials(t *testing.T) {
	for _, v := range []string{"https://T0KEN@h.example/", "https://u:T0KEN@h.example/",
		"https://h.example/?token=T0KEN", "https://h.example/p#T0KEN", "http://T0KEN@h.example:99999/",
		"https://u:pw@h.example/?token=T0KEN#T0KEN", "htps://T0KEN@h.example/", "ftp://T0KEN@h.example/",
		"//T0KEN@h.example/", "T0KEN@h.example", "HTTPS://T0KEN@h.example/",
		"https://svc:T0/KEN@h.example/", "https://u:T0#KEN@h.example/", "https://u:T0?KEN@h.example/"} {
		for name, check := range map[string]func(string) error{"CheckBaseURL": CheckBaseURL, "CheckHTTPSBaseURL": CheckHTTPSBaseURL} {
			err := check(v)
			if err == nil || strings.Contains(err.Error(), "T0KEN") {
				t.Errorf("%s(%q): %v, want an error without the credential", name, v, err)
			}
		}
	}
	for _, key := range []string{"CERTCTL_CA_BASE_URL", "CERTCTL_ENDPOINT_BASE_URL", "CERTCTL_VALIDATION_HTTP_BASE_URL"} {
		for _, v := range []string{"https://h.example/?token=T0KEN", "https://h.example/#T0KEN"} {
			_, err := Load("", nil, func(k string) string {
				if k == key {
					return v
				}
				return ""
			})
			if err == nil || !strings.Contains(err.Error(), "query or fragment") || strings.Contains(err.Error(), "T0KEN") {
				t.Errorf("%s=%s: Load gave %v, want it refused without the token", key, v, err)
			}
		}
	}
}

// TestSetRefusesOutOfRange: a value whose type parses but which is outside
// its key's range is refused by Set (so it never reaches the file) and by
// Load (when it comes from the file or the environment), through the same
// table of checks.
func TestSetRefusesOutOfRange(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := Set(file, "region", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(file)
	bad := []struct{ key, value string }{
		{"quotas.domains_per_certificate", "101"},
		{"quotas.domains_per_certificate", "0"},
		{"quotas.domains_per_certificate", "-5"},
		{"certificate_validity", "0d"},
		{"certificate_validity", "-3d"},
		{"certificate_validity", "59s"},
		{"renewal.window", "0s"},
		{"renewal.window", "soon"},
		{"renewal.email_window", "-1d"},
		{"validation.http_port", "0"},
		{"validation.http_port", "65536"},
		{"validation.tls_alpn_port", "70000"},
		{"validation.tls_alpn_port", "https"},
		{"acme.orders_per_hour", "0"},
		{"acme.orders_per_hour", "-1"},
		{"acme.orders_per_hour", "many"},
		{"acme.new_accounts_per_hour", "0"},
		{"acme.new_accounts_per_hour", "1.5"},
		{"smtp.starttls", "maybe"},
		{"store", "mysql://x"},
		{"store", "sqlite::memory:"},
		{"store", "sqlite:file:v.db?mode=ro"},
		{"store", "host=db password=secret"},
		// URLs the store could not open, written with exit 0 (tester).
		{"store", "postgres://u:secret@[::1"},
		{"store", "postgres://u:secret@db:99999/certctl"},
		{"store", "postgres://u:secret@db/certctl?sslmode=bogus"},
		{"store", "postgresql://u:secret@db/certctl?connect_timeout=soon"},
		{"validation.resolvers", "127.0.0.1:99999"},
		{"validation.resolvers", "127.0.0.1:53,resolver:dns"},
		{"validation.resolvers", "http://resolver"},
		{"validation.resolvers", "bad host:53"},
		{"validation.resolvers", ":53"},
		{"validation.resolvers", "127.0.0.1:0"},
		{"validation.resolvers", "x:y:z,,8.8.8.8"},
		{"validation.resolvers", "dns!server"},
		{"validation.resolvers", "[fe80::zz]:53"},
		{"endpoint.base_url", "acme.internal"},
		{"ca.base_url", "ftp://pki.internal"},
		{"validation.http_base_url", "http://"},
		{"ca.base_url", "http://u:secret@pki.internal"},
		// Written into every DNS-validated certificate's validation
		// record (tester).
		{"validation.dns_zone", "a b;$ORIGIN evil."},
		{"validation.dns_zone", "bad_zone.."},
		{"validation.dns_zone", "*.zone.example.test"},
		{"validation.dns_zone", strings.Repeat(strings.Repeat("z", 52)+".", 4) + "example.test"}, // 225 octets
		{"validation.caa_identities", "letsencrypt.org,not a name"},
		{"smtp.from", "notanemail"},
		{"smtp.from", "Certs <certs@example.test"},
	}
	for _, b := range bad {
		if err := Set(file, b.key, b.value); err == nil {
			t.Errorf("Set(%s, %s) accepted", b.key, b.value)
		} else if !strings.Contains(err.Error(), b.key) {
			t.Errorf("Set(%s, %s): error %q does not name the setting", b.key, b.value, err)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("Set(%s, %s): error %q shows the password", b.key, b.value, err)
		}
		env := fakeEnv(map[string]string{"HOME": t.TempDir(), EnvName(b.key): b.value})
		if _, err := Load("", nil, env); err == nil || !strings.Contains(err.Error(), b.key) {
			t.Errorf("Load with %s=%s: err %v", EnvName(b.key), b.value, err)
		}
	}
	// An empty variable is an unset one; set in the file, no zone is none.
	if err := Set(file, "validation.dns_zone", ""); err == nil {
		t.Error("Set(validation.dns_zone, \"\") accepted")
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Errorf("a refused Set changed the file:\n%s", after)
	}
	good := []struct{ key, value string }{
		{"quotas.domains_per_certificate", "100"},
		{"quotas.domains_per_certificate", "1"},
		{"validation.http_port", "65535"},
		{"validation.tls_alpn_port", "8443"},
		{"acme.orders_per_hour", "1"},
		{"acme.new_accounts_per_hour", "5000"},
		{"renewal.window", "30d"},
		{"endpoint.listen", ":8443"},
		{"endpoint.base_url", "https://acme.internal:8443"},
		{"ca.base_url", "http://pki.internal:8080/"},
		{"endpoint.base_url", ""},
		{"store", "postgres://certctl@db/certctl"},
		{"store", "postgres://certctl@db1:5432,db2:5433/certctl?target_session_attrs=read-write"},
		{"store", "postgres://certctl@db/certctl?sslmode=verify-full&sslrootcert=/etc/certctl/not-here-yet.pem"},
		{"store", "sqlite:/srv/certctl/vault.db"},
		{"store", ""},
		{"validation.resolvers", "127.0.0.1:53, [::1]:5353"},
		{"validation.resolvers", "9.9.9.9, resolver.internal, ::1"},
		{"validation.resolvers", "[fe80::1%eth0]:53, fe80::2%eth1"},
		{"validation.dns_zone", "validations.pki.example.test"},
		{"validation.caa_identities", "letsencrypt.org, pki.example.test"},
		{"validation.caa_identities", ""},
		{"smtp.from", "certs@pki.example.test"},
		// Values that loaded before these keys were checked (review).
		{"smtp.from", "PKI Team <certs@pki.example.test>"},
		{"validation.dns_zone", "validations.pki.example.test."},
		{"validation.dns_zone", "internal"},
	}
	for _, g := range good {
		if err := Set(file, g.key, g.value); err != nil {
			t.Errorf("Set(%s, %s): %v", g.key, g.value, err)
		}
	}
	c, err := Load(file, nil, fakeEnv(map[string]string{"HOME": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DomainsPerCertificate != 1 || c.HTTPPort != 65535 || c.TLSALPNPort != 8443 || c.OrdersPerHour != 1 ||
		c.NewAccountsPerHour != 5000 || c.RenewalWindow != 30*timeutil.Day || c.EndpointListen != ":8443" {
		t.Errorf("loaded %+v", c)
	}
}

// TestEveryKeyChecked: every default passes its own check, and every key
// whose value has a type refuses a value of another type.
func TestEveryKeyChecked(t *testing.T) {
	for _, k := range Keys {
		if err := Validate(k, k.Default); err != nil && k.Default != "" {
			t.Errorf("default %q of %s refused: %v", k.Default, k.Name, err)
		}
		if k.Kind == Int || k.Kind == Duration || k.Kind == Bool {
			if err := Validate(k, "x-not-a-value"); err == nil {
				t.Errorf("%s (%s) accepts x-not-a-value", k.Name, k.Kind)
			}
		}
	}
	c, err := Load("", nil, fakeEnv(map[string]string{"HOME": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TLSALPNPort != 443 || c.OrdersPerHour != 300 || c.NewAccountsPerHour != 1000 {
		t.Errorf("SPEC defaults: tls_alpn_port %d, orders_per_hour %d, new_accounts_per_hour %d", c.TLSALPNPort, c.OrdersPerHour, c.NewAccountsPerHour)
	}
}

// TestSetTrims: a value with spaces around it is stored as its type, not
// as 0 or a string that Load cannot read back.
func TestSetTrims(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	for _, s := range []struct{ key, value string }{
		{"validation.http_port", " 8080 "}, {"renewal.window", " 20d"}, {"smtp.starttls", "true "},
	} {
		if err := Set(file, s.key, s.value); err != nil {
			t.Fatalf("Set(%s, %q): %v", s.key, s.value, err)
		}
	}
	c, err := Load(file, nil, fakeEnv(map[string]string{"HOME": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPPort != 8080 || c.RenewalWindow != 20*timeutil.Day || !c.SMTPStartTLS {
		t.Errorf("loaded %d %v %v", c.HTTPPort, c.RenewalWindow, c.SMTPStartTLS)
	}
}

// TestAllowExec: hooks.allow_exec defaults to on for a SQLite vault and
// off on a PostgreSQL store; an explicit value wins either way, and a
// value other than true/false/auto is refused.
func TestAllowExec(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"CERTCTL_STORE": "sqlite:/tmp/x.db"}, true},
		{map[string]string{"CERTCTL_STORE": "postgres://u@h/db"}, false},
		{map[string]string{"CERTCTL_STORE": "postgres://u@h/db", "CERTCTL_HOOKS_ALLOW_EXEC": "true"}, true},
		{map[string]string{"CERTCTL_HOOKS_ALLOW_EXEC": "false"}, false},
		{map[string]string{"CERTCTL_HOOKS_ALLOW_EXEC": "auto"}, true},
	} {
		tc.env["HOME"] = home
		c, err := Load("", nil, fakeEnv(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		if c.AllowExec() != tc.want {
			t.Errorf("%v: AllowExec %v, want %v", tc.env, c.AllowExec(), tc.want)
		}
	}
	if _, err := Load("", nil, fakeEnv(map[string]string{"HOME": home, "CERTCTL_HOOKS_ALLOW_EXEC": "sometimes"})); err == nil {
		t.Error("hooks.allow_exec=sometimes accepted")
	}
	if err := Set(filepath.Join(home, "c.yaml"), "hooks.allow_exec", "maybe"); err == nil {
		t.Error("config set hooks.allow_exec maybe accepted")
	}
}

// A number in the config file means what it says in decimal, as it does
// in the environment and through `config set`: YAML alone would read 010
// as 8, 0x50 as 80, 1_000 as 1000, an account of twelve zeros as 0 and
// 012345678912 as a float.
func TestFileNumbersAreDecimal(t *testing.T) {
	home := fakeEnv(map[string]string{"HOME": t.TempDir()})
	for _, tc := range []struct {
		file, key, want string
	}{
		{"validation:\n  http_port: 010\n", "validation.http_port", "010"},
		{"validation:\n  http_port: 8080\n", "validation.http_port", "8080"},
		{"validation:\n  http_port: +81\n", "validation.http_port", "+81"},
		{"account: 000000000000\n", "account", "000000000000"},
		{"account: 012345678912\n", "account", "012345678912"},
		{"account: 123456789012\n", "account", "123456789012"},
	} {
		c, err := Load(writeFile(t, tc.file), nil, home)
		if err != nil {
			t.Errorf("%q: %v", tc.file, err)
			continue
		}
		if got := c.Raw(tc.key); got != tc.want {
			t.Errorf("%q: %s is %q, want %q", tc.file, tc.key, got, tc.want)
		}
	}
	c, err := Load(writeFile(t, "validation:\n  http_port: 010\n  tls_alpn_port: 0443\nacme:\n  orders_per_hour: 007\naccount: 000000000000\n"), nil, home)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPPort != 10 || c.TLSALPNPort != 443 || c.OrdersPerHour != 7 || c.Account != "000000000000" {
		t.Errorf("decoded %d %d %d %q", c.HTTPPort, c.TLSALPNPort, c.OrdersPerHour, c.Account)
	}
	// Other numbers load as YAML reads them, as they always did: a
	// config file that loaded keeps loading.
	for _, tc := range []struct {
		file string
		want int
	}{
		{"validation:\n  http_port: 0x50\n", 80},
		{"validation:\n  http_port: 0o120\n", 80},
		{"validation:\n  http_port: 8_080\n", 8080},
		{"validation:\n  http_port: 80.0\n", 80},
		{"validation:\n  http_port: 8e1\n", 80},
	} {
		c, err := Load(writeFile(t, tc.file), nil, home)
		if err != nil || c.HTTPPort != tc.want {
			t.Errorf("%q: %v, port %v, want %d", tc.file, err, c, tc.want)
		}
	}
	// A list's digits are kept too.
	c, err = Load(writeFile(t, "validation:\n  resolvers: [a.test, 010]\n"), nil, home)
	if err != nil || c.Raw("validation.resolvers") != "a.test,010" {
		t.Errorf("list: %v %v", err, c)
	}

	// Set keeps the other settings as written.
	file := writeFile(t, "account: 000000000000\nvalidation:\n  http_port: 010\n")
	if err := Set(file, "region", "eu"); err != nil {
		t.Fatal(err)
	}
	c, err = Load(file, nil, home)
	if err != nil {
		t.Fatal(err)
	}
	if c.Account != "000000000000" || c.HTTPPort != 10 || c.Region != "eu" {
		data, _ := os.ReadFile(file)
		t.Errorf("after Set: %q %d %q\n%s", c.Account, c.HTTPPort, c.Region, data)
	}
}

// TestSetOnlyRules: config set refuses a base URL that would make broken
// URLs (an endpoint one that is not https://, a bad port, …), while a
// file or environment holding one written before the
// rule still loads — endpoint serve refuses it itself, and no other
// command (renew --due from cron) stops over it (final review).
func TestSetOnlyRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.yaml")
	// A query or fragment is refused by Load too, as credentials are
	// (verification tester: ca.base_url's went into every certificate's
	// CRL and OCSP URLs, a token in it published there).
	for _, b := range []struct{ key, value string }{
		{"endpoint.base_url", "https://acme.internal/p?q=1"},
		{"endpoint.base_url", "https://acme.internal/#f"},
		{"ca.base_url", "http://pki.internal/?x=1#f"},
	} {
		if err := Set(file, b.key, b.value); err == nil || !strings.Contains(err.Error(), b.key) {
			t.Errorf("Set(%s, %s): %v, want a refusal naming the setting", b.key, b.value, err)
		}
		env := fakeEnv(map[string]string{"HOME": t.TempDir(), EnvName(b.key): b.value})
		if _, err := Load("", nil, env); err == nil || !strings.Contains(err.Error(), "query or fragment") {
			t.Errorf("Load with %s=%s: %v, want it refused", EnvName(b.key), b.value, err)
		}
	}
	for _, b := range []struct{ key, value string }{
		{"endpoint.base_url", "http://acme.internal"},
		// (tester) credentials every URL would show, a port out of
		// range, a scheme in capitals kept in every URL, no host.
		{"endpoint.base_url", "https://acme.internal:99999"},
		{"endpoint.base_url", "https://acme.internal:0/"},
		{"ca.base_url", "HTTP://pki.internal"},
		{"ca.base_url", "http://:8080/"},
		{"endpoint.listen", "localhost"},
		{"endpoint.listen", "127.0.0.1:99999"},
		{"endpoint.listen", "999.0.0.1:8443"}, // no address, no name (tester: exit 1)
		{"ca.listen", "10.0.0:8080"},
		{"endpoint.base_url", "https://acme.internal/a b"},
		{"endpoint.base_url", "https://acme.internal/../x"},
		{"endpoint.base_url", "https://acme.internal:"},
		{"endpoint.base_url", "https://acme.internal//acme"},
		{"ca.base_url", "http://pki.internal/a/./b"},
	} {
		if err := Set(file, b.key, b.value); err == nil || !strings.Contains(err.Error(), b.key) {
			t.Errorf("Set(%s, %s): %v, want a refusal naming the setting", b.key, b.value, err)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("Set(%s, %s): error %q shows the password", b.key, b.value, err)
		}
		env := fakeEnv(map[string]string{"HOME": t.TempDir(), EnvName(b.key): b.value})
		if _, err := Load("", nil, env); err != nil {
			t.Errorf("Load with %s=%s: %v, want it loaded", EnvName(b.key), b.value, err)
		}
	}
	for _, g := range []struct{ key, value string }{
		{"endpoint.base_url", "https://acme.internal:8443/acme"},
		{"ca.base_url", "http://pki.internal:8080/pki"},
		{"ca.base_url", ""},
	} {
		if err := Set(file, g.key, g.value); err != nil {
			t.Errorf("Set(%s, %s): %v", g.key, g.value, err)
		}
	}
}

// TestDefaultsWithoutHome (newcomer tester): without HOME — a systemd
// service without User= — the defaults are under the account's home from
// the password database, never relative to the working directory; with
// no home at all there is no default (the vault's opening says what to
// set).
func TestDefaultsWithoutHome(t *testing.T) {
	defer func(f func() (*user.User, error)) { currentUser = f }(currentUser)
	currentUser = func() (*user.User, error) { return &user.User{HomeDir: "/home/svc"}, nil }
	for _, h := range []string{"", "relative/home"} {
		env := fakeEnv(map[string]string{"HOME": h})
		if got := DefaultFile(env); got != "/home/svc/.config/certctl/config.yaml" {
			t.Errorf("HOME=%q: DefaultFile %q", h, got)
		}
		if got := DefaultVault(env); got != "/home/svc/.local/share/certctl" {
			t.Errorf("HOME=%q: DefaultVault %q", h, got)
		}
	}
	if got := DefaultVault(fakeEnv(map[string]string{"HOME": "/root"})); got != "/root/.local/share/certctl" {
		t.Errorf("HOME=/root: DefaultVault %q", got)
	}
	currentUser = func() (*user.User, error) { return nil, errors.New("no such user") }
	env := fakeEnv(map[string]string{})
	if f, v := DefaultFile(env), DefaultVault(env); f != "" || v != "" {
		t.Errorf("no home at all: DefaultFile %q, DefaultVault %q, want none", f, v)
	}
	c, err := Load("", nil, env)
	if err != nil || c.Vault != "" {
		t.Errorf("Load without a home: vault %q, %v", c.Vault, err)
	}
}

// TestLoadHomeIsAFile: HOME set to a file leaves no default config file to
// read (its path goes through a file), as a missing one does — the
// command goes on, and says what it must about its vault (tester: every
// command failed on the config file).
func TestLoadHomeIsAFile(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := os.WriteFile(home, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load("", nil, fakeEnv(map[string]string{"HOME": home}))
	if err != nil {
		t.Fatalf("HOME a file: %v", err)
	}
	if !c.VaultDefaulted || !strings.HasPrefix(c.Vault, home) {
		t.Errorf("vault %q (defaulted %v)", c.Vault, c.VaultDefaulted)
	}
}

// TestDNSZoneTrailingDot: a zone written with its trailing dot is the
// zone without it — the validation CNAMEs in it end in one dot.
func TestDNSZoneTrailingDot(t *testing.T) {
	c, err := Load("", nil, fakeEnv(map[string]string{"HOME": t.TempDir(), EnvName("validation.dns_zone"): "validations.example.test."}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DNSZone != "validations.example.test" {
		t.Errorf("DNSZone %q, want validations.example.test", c.DNSZone)
	}
}

// TestIssuingKeysExist: each name of IssuingKeys is a setting (a renamed
// one would drop out unnoticed and stop every command again when refused).
func TestIssuingKeysExist(t *testing.T) {
	for _, name := range IssuingKeys {
		if _, ok := LookupKey(name); !ok {
			t.Errorf("IssuingKeys names %q, which is no setting", name)
		}
	}
}
