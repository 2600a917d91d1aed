// Package config loads certctl's settings: flags over CERTCTL_* environment
// variables over the config file over defaults. It is the only package that
// touches viper; commands read the typed Config.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/certctl/certctl/pkg/fsutil"
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
}

// Keys are every setting of SPEC section 3, in display order.
var Keys = []Key{
	{"region", String, "local", "region part of ARNs"},
	{"account", String, "000000000000", "account part of ARNs"},
	{"vault", String, "", "vault directory (default ${XDG_DATA_HOME:-~/.local/share}/certctl)"},
	{"store", String, "", "store URL (default: the embedded SQLite database in the vault)"},
	{"certificate_validity", Duration, "395d", "validity of issued certificates"},
	{"renewal.window", Duration, "60d", "renew this long before NotAfter"},
	{"renewal.email_window", Duration, "45d", "renewal window of EMAIL-validated certificates"},
	{"validation.resolvers", List, "", "DNS resolvers (host:port) for validation checks (default: the system's)"},
	{"validation.dns_zone", String, "acm-validations.certctl.local", "zone that DNS validation CNAMEs point into"},
	{"validation.http_base_url", String, "", "base URL under which `validate serve-http` content is published"},
	{"validation.http_port", Int, "80", "port used to fetch RedirectFrom URLs"},
	{"validation.caa_identities", List, "certctl.local", "CA identities accepted in CAA records"},
	{"smtp.addr", String, "", "SMTP server host:port for validation email (default: write .eml files to the outbox)"},
	{"smtp.from", String, "certctl@localhost", "sender of validation email"},
	{"smtp.username", String, "", "SMTP user name"},
	{"smtp.password_file", String, "", "file holding the SMTP password"},
	{"smtp.starttls", Bool, "false", "require STARTTLS"},
	{"endpoint.listen", String, "127.0.0.1:8443", "listen address of `endpoint serve`"},
	{"endpoint.base_url", String, "", "public base URL of the ACME endpoints"},
	{"ca.base_url", String, "", "base URL embedded in CRL distribution point and OCSP URLs"},
	{"hooks.event", String, "", "command that receives each event as JSON on stdin"},
	{"quotas.domains_per_certificate", Int, "10", "names allowed in one certificate (max 100)"},
}

// Config is the typed view of the settings.
type Config struct {
	Region                string
	Account               string
	Vault                 string
	Store                 string
	CertificateValidity   time.Duration
	RenewalWindow         time.Duration
	RenewalEmailWindow    time.Duration
	Resolvers             []string
	DNSZone               string
	HTTPBaseURL           string
	HTTPPort              int
	CAAIdentities         []string
	SMTPAddr              string
	SMTPFrom              string
	SMTPUsername          string
	SMTPPasswordFile      string
	SMTPStartTLS          bool
	EndpointListen        string
	EndpointBaseURL       string
	CABaseURL             string
	EventHook             string
	DomainsPerCertificate int

	// File is the config file in use (it may not exist).
	File string
	v    *viper.Viper
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

// DefaultFile is ${XDG_CONFIG_HOME:-~/.config}/certctl/config.yaml.
func DefaultFile(getenv func(string) string) string {
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "certctl", "config.yaml")
}

// DefaultVault is ${XDG_DATA_HOME:-~/.local/share}/certctl.
func DefaultVault(getenv func(string) string) string {
	base := getenv("XDG_DATA_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "certctl")
}

// Load reads the settings. file is the --config flag (empty: the default
// file, which may be absent); flags maps setting names to changed flags.
func Load(file string, flags map[string]*pflag.Flag, getenv func(string) string) (*Config, error) {
	v := viper.New()
	explicit := file != ""
	if file == "" {
		file = getenv("CERTCTL_CONFIG")
		explicit = file != ""
	}
	if file == "" {
		file = DefaultFile(getenv)
	}
	for _, k := range Keys {
		v.SetDefault(k.Name, k.Default)
		// Bind explicitly rather than AutomaticEnv so the getenv seam is used.
		if val := getenv(EnvName(k.Name)); val != "" {
			v.Set(k.Name, val)
		}
	}
	if data, err := os.ReadFile(file); err == nil {
		fileVals := map[string]any{}
		if err := yaml.Unmarshal(data, &fileVals); err != nil {
			return nil, fmt.Errorf("config file %s: %v", file, err)
		}
		flat := map[string]any{}
		flatten("", fileVals, flat)
		for name, val := range flat {
			if _, ok := LookupKey(name); !ok {
				return nil, fmt.Errorf("config file %s: unknown setting %q (see `certctl config list`)", file, name)
			}
			if getenv(EnvName(name)) == "" {
				v.Set(name, val)
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) || explicit {
		return nil, fmt.Errorf("config file: %v", err)
	}
	for name, f := range flags {
		if f != nil && f.Changed {
			v.Set(name, f.Value.String())
		}
	}
	c := &Config{File: file, v: v}
	if err := c.decode(getenv); err != nil {
		return nil, err
	}
	return c, nil
}

func flatten(prefix string, in map[string]any, out map[string]any) {
	for k, val := range in {
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
	val := c.v.Get(name)
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
	var errs []error
	str := func(name string) string { return c.Raw(name) }
	dur := func(name string) time.Duration {
		d, err := timeutil.ParseDuration(str(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("setting %s: %v", name, err))
		}
		return d
	}
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(str(name)))
		if err != nil {
			errs = append(errs, fmt.Errorf("setting %s: %q is not a whole number", name, str(name)))
		}
		return n
	}
	boolean := func(name string) bool {
		b, err := strconv.ParseBool(strings.TrimSpace(str(name)))
		if err != nil {
			errs = append(errs, fmt.Errorf("setting %s: %q is not true or false", name, str(name)))
		}
		return b
	}
	c.Region = str("region")
	c.Account = str("account")
	c.Vault = str("vault")
	if c.Vault == "" {
		c.Vault = DefaultVault(getenv)
	}
	c.Store = str("store")
	c.CertificateValidity = dur("certificate_validity")
	c.RenewalWindow = dur("renewal.window")
	c.RenewalEmailWindow = dur("renewal.email_window")
	c.Resolvers = SplitList(str("validation.resolvers"))
	c.DNSZone = str("validation.dns_zone")
	c.HTTPBaseURL = str("validation.http_base_url")
	c.HTTPPort = num("validation.http_port")
	c.CAAIdentities = SplitList(str("validation.caa_identities"))
	c.SMTPAddr = str("smtp.addr")
	c.SMTPFrom = str("smtp.from")
	c.SMTPUsername = str("smtp.username")
	c.SMTPPasswordFile = str("smtp.password_file")
	c.SMTPStartTLS = boolean("smtp.starttls")
	c.EndpointListen = str("endpoint.listen")
	c.EndpointBaseURL = str("endpoint.base_url")
	c.CABaseURL = str("ca.base_url")
	c.EventHook = str("hooks.event")
	c.DomainsPerCertificate = num("quotas.domains_per_certificate")
	if c.DomainsPerCertificate < 1 || c.DomainsPerCertificate > 100 {
		errs = append(errs, fmt.Errorf("setting quotas.domains_per_certificate: %d is outside 1..100", c.DomainsPerCertificate))
	}
	if c.CertificateValidity <= 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("setting certificate_validity must be positive"))
	}
	return errors.Join(errs...)
}

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

// Source tells where a setting's effective value comes from.
func (c *Config) Source(name string, flags map[string]*pflag.Flag, getenv func(string) string) string {
	if f := flags[name]; f != nil && f.Changed {
		return "flag"
	}
	if getenv(EnvName(name)) != "" {
		return "env"
	}
	if vals, err := readFile(c.File); err == nil {
		if _, ok := vals[name]; ok {
			return "file"
		}
	}
	return "default"
}

func readFile(file string) (map[string]any, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, err
	}
	flat := map[string]any{}
	flatten("", vals, flat)
	return flat, nil
}

// Validate checks that value suits the setting.
func Validate(k Key, value string) error {
	switch k.Kind {
	case Duration:
		_, err := timeutil.ParseDuration(value)
		return err
	case Int:
		if _, err := strconv.Atoi(value); err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
	case Bool:
		if _, err := strconv.ParseBool(value); err != nil {
			return fmt.Errorf("%q is not true or false", value)
		}
	}
	return nil
}

// Set writes one setting into the config file (created 0600 with its
// directory 0700), keeping the others.
func Set(file, name, value string) error {
	k, ok := LookupKey(name)
	if !ok {
		return fmt.Errorf("unknown setting %q", name)
	}
	if err := Validate(k, value); err != nil {
		return fmt.Errorf("setting %s: %v", name, err)
	}
	flat, err := readFile(file)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		flat = map[string]any{}
	}
	var typed any = value
	switch k.Kind {
	case List:
		typed = SplitList(value)
	case Int:
		typed, _ = strconv.Atoi(value)
	case Bool:
		typed, _ = strconv.ParseBool(value)
	}
	flat[name] = typed
	nested := map[string]any{}
	names := make([]string, 0, len(flat))
	for n := range flat {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		parts := strings.Split(n, ".")
		m := nested
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = flat[n]
	}
	data, err := yaml.Marshal(nested)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(file, data, 0o600)
}

// Shown is the value of a setting as certctl prints it: like Raw, but a
// password inside a URL (a PostgreSQL --store) is replaced by "xxxxx", so
// that config list and get never print a secret.
func (c *Config) Shown(name string) string {
	return RedactURL(c.Raw(name))
}

// RedactURL hides the password of a URL's user information; anything that
// is not such a URL is returned unchanged.
func RedactURL(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
