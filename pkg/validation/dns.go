package validation

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/localstore"
)

// secretMetaKey names the vault's DNS validation secret in the meta table.
const secretMetaKey = "validation.dns-secret"

// VaultSecret returns the vault's random DNS validation secret, creating it
// on first use (call it in a write transaction the first time). The secret
// makes validation records stable for the vault and unguessable for others.
func VaultSecret(tx localstore.Tx) ([]byte, error) {
	b, err := tx.GetMeta(secretMetaKey)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, localstore.ErrNotFound) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, tx.PutMeta(secretMetaKey, b)
}

// DNSRecord returns the CNAME record proving control of name in this
// vault: `_<32 hex>.<name>.` → `_<32 hex>.<zone>.`. A wildcard shares the
// record of its base name, and every certificate for a name gets the same
// record.
func DNSRecord(secret []byte, zone, name string) (recordName, value string) {
	base := dnsname.Normalize(dnsname.Base(strings.TrimSuffix(name, ".")))
	label := func(purpose string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(purpose))
		m.Write([]byte{0})
		m.Write([]byte(base))
		return "_" + hex.EncodeToString(m.Sum(nil)[:16])
	}
	z := strings.Trim(dnsname.Normalize(zone), ".")
	return label("record-name") + "." + base + ".", label("record-value") + "." + z + "."
}

// recordLabelLength is what DNSRecord's record name adds before a name:
// "_", 32 hexadecimal digits and a dot.
const recordLabelLength = 34

// CheckDNSRecordFits returns an error when the validation record of name
// (DNSRecord: _<32 hex>.<base name>) would be longer than a DNS name may
// be (253 octets): no one could create it, and no lookup could find it.
func CheckDNSRecordFits(name string) error {
	base := dnsname.Base(strings.TrimSuffix(name, "."))
	if n := recordLabelLength + len(base); n > dnsname.MaxNameLength {
		return fmt.Errorf("%s is too long for DNS validation: its record _<32 hex>.%s would be %d octets, and a DNS name is at most %d (names of at most %d octets can be validated by DNS)",
			name, base, n, dnsname.MaxNameLength, dnsname.MaxNameLength-recordLabelLength)
	}
	return nil
}

// NormalizeTarget puts a CNAME target in the form it is compared in: lower
// case, without surrounding space, one trailing dot or one leading
// underscore.
func NormalizeTarget(s string) string {
	s = dnsname.Normalize(strings.TrimSpace(s))
	s = strings.TrimSuffix(s, ".")
	return strings.TrimPrefix(s, "_")
}

// TargetMatches reports whether a CNAME target found in DNS is the expected
// validation value. The value is accepted with or without its trailing dot
// (a zone file entry without the dot gets the zone's origin appended) and
// without its leading underscore.
func TargetMatches(got, want string) bool {
	g, w := NormalizeTarget(got), NormalizeTarget(want)
	if w == "" {
		return false
	}
	return g == w || strings.HasPrefix(g, w+".")
}

// CheckDNS looks for the validation CNAME recordName → value, following a
// chain of at most MaxCNAMEChain aliases. It returns whether the record is
// in place and, when not, why. err reports a lookup that failed (the
// answer is unknown).
func (r *Resolver) CheckDNS(ctx context.Context, recordName, value string) (bool, string, error) {
	ok, why, _, err := r.checkDNS(ctx, recordName, value)
	return ok, why, err
}

// checkDNS is CheckDNS that also reports a chain longer than
// MaxCNAMEChain (a definite failure, not a record still to come).
func (r *Resolver) checkDNS(ctx context.Context, recordName, value string) (ok bool, why string, tooLong bool, err error) {
	cur := recordName
	for hop := 1; hop <= MaxCNAMEChain; hop++ {
		rrs, err := r.lookup(ctx, cur, dns.TypeCNAME)
		if err != nil {
			return false, "", false, err
		}
		if len(rrs) == 0 {
			if hop == 1 {
				return false, fmt.Sprintf("no CNAME record at %s", recordName), false, nil
			}
			return false, fmt.Sprintf("the CNAME chain from %s ends at %s without reaching %s", recordName, cur, value), false, nil
		}
		cn, ok := rrs[0].(*dns.CNAME)
		if !ok {
			return false, "", false, fmt.Errorf("%w: %s: a CNAME record that cannot be read", ErrLookup, cur)
		}
		target := cn.Target
		if TargetMatches(target, value) {
			return true, "", false, nil
		}
		cur = target
	}
	return false, fmt.Sprintf("the CNAME chain from %s is longer than %d records", recordName, MaxCNAMEChain), true, nil
}
