package authority

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/jsonarg"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
)

// Usage modes (AWS Private CA's UsageMode).
const (
	UsageGeneralPurpose = "GENERAL_PURPOSE"
	UsageShortLived     = "SHORT_LIVED_CERTIFICATE"
)

// UsageModes lists the usage modes.
var UsageModes = []string{UsageGeneralPurpose, UsageShortLived}

// ShortLivedMax is the longest certificate a SHORT_LIVED_CERTIFICATE CA
// issues.
const ShortLivedMax = 7 * timeutil.Day

// CRL types.
const (
	CRLComplete    = "COMPLETE"
	CRLPartitioned = "PARTITIONED"
)

// DefaultCRLPartitionSize is how many certificates a PARTITIONED CA issues
// into one CRL partition before it opens the next.
const DefaultCRLPartitionSize = 1000

// maxPartitions bounds the partition index (it rides in the low 16 bits of
// the serial).
const maxPartitions = 1 << 16

// NameConstraints is the --name-constraints document:
// {"Permitted":{"DnsNames":[…],"IpRanges":[…],"EmailAddresses":[…],"Uris":[…]},"Excluded":{…}}.
type NameConstraints struct {
	Permitted *Subtrees `json:"Permitted,omitempty"`
	Excluded  *Subtrees `json:"Excluded,omitempty"`
}

// Subtrees are the names of one side of NameConstraints. Uris are host
// constraints as RFC 5280 has them (a domain, or .domain for subdomains).
type Subtrees struct {
	DnsNames       []string `json:"DnsNames,omitempty"`
	IpRanges       []string `json:"IpRanges,omitempty"`
	EmailAddresses []string `json:"EmailAddresses,omitempty"`
	Uris           []string `json:"Uris,omitempty"`
}

// RevocationConfiguration is AWS Private CA's RevocationConfiguration.
type RevocationConfiguration struct {
	CrlConfiguration  *CrlConfiguration  `json:"CrlConfiguration,omitempty"`
	OcspConfiguration *OcspConfiguration `json:"OcspConfiguration,omitempty"`
}

// CrlConfiguration is AWS Private CA's CrlConfiguration. S3BucketName
// and S3ObjectAcl are taken and kept, as PCA's describe prints them, so
// that its documents are accepted as they are; certctl publishes its CRLs
// through ca serve, not S3 (tester: PCA's own JSON was refused).
type CrlConfiguration struct {
	Enabled          bool   `json:"Enabled"`
	ExpirationInDays int    `json:"ExpirationInDays,omitempty"`
	CustomCname      string `json:"CustomCname,omitempty"`
	CrlType          string `json:"CrlType,omitempty"`
	S3BucketName     string `json:"S3BucketName,omitempty"`
	S3ObjectAcl      string `json:"S3ObjectAcl,omitempty"`
	// CrlDistributionPointExtensionConfiguration.OmitExtension leaves
	// the CRL distribution point out of the certificates the CA issues
	// (relying parties find the CRL by other means); its CRL is signed
	// and served all the same.
	CrlDistributionPointExtensionConfiguration *CdpExtensionConfiguration `json:"CrlDistributionPointExtensionConfiguration,omitempty"`
}

// CdpExtensionConfiguration is PCA's
// CrlDistributionPointExtensionConfiguration.
type CdpExtensionConfiguration struct {
	OmitExtension bool `json:"OmitExtension"`
}

// S3 object ACLs PCA takes.
var s3ObjectAcls = []string{"PUBLIC_READ", "BUCKET_OWNER_FULL_CONTROL"}

// omitsCDP reports whether the certificates c's CA issues carry no CRL
// distribution point (OmitExtension).
func (c *CrlConfiguration) omitsCDP() bool {
	return c != nil && c.CrlDistributionPointExtensionConfiguration != nil && c.CrlDistributionPointExtensionConfiguration.OmitExtension
}

// OcspConfiguration is AWS Private CA's OcspConfiguration.
type OcspConfiguration struct {
	Enabled         bool   `json:"Enabled"`
	OcspCustomCname string `json:"OcspCustomCname,omitempty"`
}

func decodeStrict(data []byte, v any, what string) error {
	if err := jsonarg.Decode(data, v); err != nil {
		return errs.Invalidf("%s: %v", what, err)
	}
	return nil
}

// ParseNameConstraints reads and checks a --name-constraints document
// (exit 4 when malformed).
func ParseNameConstraints(data []byte) (*NameConstraints, error) {
	nc := &NameConstraints{}
	if err := decodeStrict(data, nc, "--name-constraints"); err != nil {
		return nil, err
	}
	if nc.Permitted.empty() && nc.Excluded.empty() {
		// {"Permitted":{}} would make an unconstrained CA of one that
		// asked for constraints.
		return nil, errs.Invalidf("--name-constraints: neither Permitted nor Excluded names anything")
	}
	t := &x509.Certificate{}
	if err := nc.apply(t); err != nil {
		return nil, err
	}
	return nc, nil
}

// apply puts the constraints, critical, into a CA certificate template.
func (nc *NameConstraints) apply(t *x509.Certificate) error {
	if nc == nil {
		return nil
	}
	side := func(st *Subtrees, dns, email, uri *[]string, ips *[]*net.IPNet, which string) error {
		if st == nil {
			return nil
		}
		for _, d := range st.DnsNames {
			if err := checkConstraintDomain(d); err != nil {
				return errs.Invalidf("--name-constraints %s.DnsNames %q: %v", which, d, err)
			}
			*dns = append(*dns, d)
		}
		for _, c := range st.IpRanges {
			_, n, err := net.ParseCIDR(c)
			if err != nil {
				return errs.Invalidf("--name-constraints %s.IpRanges %q: not a CIDR range (10.0.0.0/8)", which, c)
			}
			*ips = append(*ips, n)
		}
		for _, e := range st.EmailAddresses {
			host := e
			if at := strings.LastIndex(e, "@"); at >= 0 {
				host = e[at+1:]
				if at == 0 {
					return errs.Invalidf("--name-constraints %s.EmailAddresses %q: empty mailbox", which, e)
				}
			}
			if err := checkConstraintDomain(host); err != nil {
				return errs.Invalidf("--name-constraints %s.EmailAddresses %q: %v", which, e, err)
			}
			*email = append(*email, e)
		}
		for _, u := range st.Uris {
			if err := checkConstraintDomain(u); err != nil {
				return errs.Invalidf("--name-constraints %s.Uris %q: a URI constraint is a host or .domain: %v", which, u, err)
			}
			*uri = append(*uri, u)
		}
		return nil
	}
	if err := side(nc.Permitted, &t.PermittedDNSDomains, &t.PermittedEmailAddresses, &t.PermittedURIDomains, &t.PermittedIPRanges, "Permitted"); err != nil {
		return err
	}
	if err := side(nc.Excluded, &t.ExcludedDNSDomains, &t.ExcludedEmailAddresses, &t.ExcludedURIDomains, &t.ExcludedIPRanges, "Excluded"); err != nil {
		return err
	}
	t.PermittedDNSDomainsCritical = true
	return nil
}

// constraintsText is the name constraints c carries, as a
// --name-constraints document with each list in order ("none" without
// any): two certificates carry the same constraints when their texts are
// equal, whatever order or CIDR spelling their signers wrote them in.
func constraintsText(c *x509.Certificate) string {
	side := func(dns, email, uri []string, ips []*net.IPNet) *Subtrees {
		st := &Subtrees{DnsNames: sortedLower(dns), EmailAddresses: slices.Sorted(slices.Values(email)), Uris: sortedLower(uri)}
		for _, n := range ips {
			st.IpRanges = append(st.IpRanges, n.String())
		}
		slices.Sort(st.IpRanges)
		if st.empty() {
			return nil
		}
		return st
	}
	nc := NameConstraints{
		Permitted: side(c.PermittedDNSDomains, c.PermittedEmailAddresses, c.PermittedURIDomains, c.PermittedIPRanges),
		Excluded:  side(c.ExcludedDNSDomains, c.ExcludedEmailAddresses, c.ExcludedURIDomains, c.ExcludedIPRanges),
	}
	if nc.Permitted == nil && nc.Excluded == nil {
		return "none"
	}
	b, _ := json.Marshal(nc)
	return string(b)
}

// sortedLower is names in lower case (DNS names and URI hosts compare
// case-insensitively), sorted.
func sortedLower(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, strings.ToLower(n))
	}
	slices.Sort(out)
	return out
}

// empty reports whether st names nothing.
func (st *Subtrees) empty() bool {
	return st == nil || len(st.DnsNames)+len(st.IpRanges)+len(st.EmailAddresses)+len(st.Uris) == 0
}

func checkConstraintDomain(d string) error {
	d = strings.TrimPrefix(d, ".")
	if d == "" {
		return fmt.Errorf("empty")
	}
	if strings.Contains(d, "*") {
		// RFC 5280: a name constraint is a domain (all of its names),
		// not a pattern; *.x.test would match nothing.
		return fmt.Errorf("a constraint is a domain, not a wildcard: x.test covers x.test and its subdomains, .x.test its subdomains only")
	}
	if err := dnsname.Validate(d); err != nil {
		return err
	}
	return nil
}

// ParseRevocationConfiguration reads and checks PCA's RevocationConfiguration
// (exit 4 when malformed).
func ParseRevocationConfiguration(data []byte) (*RevocationConfiguration, error) {
	rc := &RevocationConfiguration{}
	if err := decodeStrict(data, rc, "--revocation-configuration"); err != nil {
		return nil, err
	}
	if c := rc.CrlConfiguration; c != nil {
		switch c.CrlType {
		case "":
			c.CrlType = CRLComplete
		case CRLComplete, CRLPartitioned:
		default:
			return nil, errs.Invalidf("--revocation-configuration: CrlType %q%s", c.CrlType, enum.Problem(c.CrlType, []string{CRLComplete, CRLPartitioned}))
		}
		if c.ExpirationInDays < 0 || c.ExpirationInDays > 5000 || (c.ExpirationInDays == 0 && expirationGiven(data)) {
			return nil, errs.Invalidf("--revocation-configuration: ExpirationInDays %d (want 1 to 5000)", c.ExpirationInDays)
		}
		if err := checkCname(c.CustomCname); err != nil {
			return nil, errs.Invalidf("--revocation-configuration: CustomCname %q: %v", c.CustomCname, err)
		}
		if c.S3ObjectAcl != "" && !slices.Contains(s3ObjectAcls, c.S3ObjectAcl) {
			return nil, errs.Invalidf("--revocation-configuration: S3ObjectAcl %q%s", c.S3ObjectAcl, enum.Problem(c.S3ObjectAcl, s3ObjectAcls))
		}
		if c.omitsCDP() && c.CustomCname != "" {
			// As AWS Private CA refuses it: the name would be in no
			// certificate (review).
			return nil, errs.Invalidf("--revocation-configuration: OmitExtension with a CustomCname: the certificates would carry no CRL location for it to name")
		}
		if c.omitsCDP() && c.CrlType == CRLPartitioned {
			// A partitioned CRL is found only through the partition
			// each certificate names.
			return nil, errs.Invalidf("--revocation-configuration: OmitExtension with CrlType PARTITIONED: the certificates of a partitioned CRL must name their partition")
		}
	}
	if o := rc.OcspConfiguration; o != nil {
		if err := checkCname(o.OcspCustomCname); err != nil {
			return nil, errs.Invalidf("--revocation-configuration: OcspCustomCname %q: %v", o.OcspCustomCname, err)
		}
	}
	return rc, nil
}

// expirationGiven reports whether the RevocationConfiguration document
// data (already decoded strictly) gives CrlConfiguration.ExpirationInDays:
// 0 is then an ExpirationInDays out of range, not its absence (the CA's
// default).
func expirationGiven(data []byte) bool {
	var probe struct {
		CrlConfiguration *struct {
			ExpirationInDays *json.RawMessage
		}
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return false
	}
	return probe.CrlConfiguration != nil && probe.CrlConfiguration.ExpirationInDays != nil
}

// checkCname accepts a host name (PCA: no scheme, no path), optionally with
// a port.
func checkCname(c string) error {
	if c == "" {
		return nil
	}
	if strings.ContainsAny(c, "/@?#") {
		return fmt.Errorf("want a host name without scheme or path (crl.example.test, not http://crl.example.test/)")
	}
	host := c
	if h, _, err := net.SplitHostPort(c); err == nil {
		host = h
	}
	if strings.ContainsAny(host, ":") {
		return fmt.Errorf("want a host name without scheme or path (crl.example.test, not http://crl.example.test/)")
	}
	if err := dnsname.Validate(host); err != nil {
		return err
	}
	return nil
}

func (c *CrlConfiguration) partitioned() bool {
	return c != nil && c.Enabled && c.CrlType == CRLPartitioned
}

// partitioned reports a CA whose CRL is split into partitions.
func (r *Record) partitioned() bool {
	return r.Revocation != nil && r.Revocation.CrlConfiguration.partitioned() && r.UsageMode != UsageShortLived
}

// Partitions is the number of CRL partitions r has opened. They are
// served for as long as r publishes revocation, whatever its CRL type
// now: the certificates issued into them name them.
func (s *Service) Partitions(r *Record) int {
	if r.IssuedCount == 0 {
		return 0
	}
	return int((r.IssuedCount-1)/int64(s.partitionSize())) + 1
}

// PartitionBase is the CRL location (crlBase) named by the certificates
// of a PARTITIONED CA's partitions from From on, up to the next one's.
type PartitionBase struct {
	From int    `json:"from"`
	Base string `json:"base"`
	// Cname is the CA's CustomCname that Base came from ("": the
	// ca.base_url of the process that opened the partition).
	Cname string `json:"cname,omitempty"`
}

// partitionRecord is the location recorded for partition n (known false:
// none, for a partition opened before locations were recorded).
func (r *Record) partitionRecord(n int) (PartitionBase, bool) {
	for i := len(r.PartitionBases) - 1; i >= 0; i-- {
		if r.PartitionBases[i].From <= n {
			return r.PartitionBases[i], true
		}
	}
	return PartitionBase{}, false
}

// partitionBase is the CRL location partition n's certificates name, as
// recorded when they were issued; for a partition opened before locations
// were recorded, or by a process that had none, r's location now.
func (s *Service) partitionBase(r *Record, n int) string {
	if p, ok := r.partitionRecord(n); ok && p.Base != "" {
		return p.Base
	}
	return s.crlBase(r)
}

// notePartitionBase records that the certificates of partition p.From on
// name p.Base.
func (r *Record) notePartitionBase(p PartitionBase) {
	if k := len(r.PartitionBases); k > 0 && r.PartitionBases[k-1].From == p.From {
		r.PartitionBases[k-1] = p
		return
	}
	r.PartitionBases = append(r.PartitionBases, p)
}

// crlCname is r's CustomCname ("" when its CRL location is ca.base_url).
func crlCname(r *Record) string {
	if rc := r.Revocation; rc != nil && rc.CrlConfiguration != nil {
		return rc.CrlConfiguration.CustomCname
	}
	return ""
}

func (s *Service) partitionSize() int {
	if s.CRLPartitionSize > 0 {
		return s.CRLPartitionSize
	}
	return DefaultCRLPartitionSize
}

// baseURL is where r's CRLs and OCSP responder are, unless a CustomCname
// says otherwise: this host's ca.base_url, or, on a host that sets none,
// the one r recorded (Record.BaseURL) — a host of a shared store issues
// from a CA made on another with the location the CA has, not none (team
// tester: the certificates issued on a host without ca.base_url carried
// no CRL distribution point and no OCSP location, and ca describe said
// revocation was off there and on where the CA was made).
func (s *Service) baseURL(r *Record) string {
	if s.BaseURL != "" {
		return s.BaseURL
	}
	return r.BaseURL
}

// noteBaseURL records this host's ca.base_url in r (Record.BaseURL) —
// always when the CA is created or its revocation configuration changed
// (explicit), else only when r has none — and reports whether r changed.
func (s *Service) noteBaseURL(r *Record, explicit bool) bool {
	if s.BaseURL == "" || r.BaseURL == s.BaseURL || !explicit && r.BaseURL != "" {
		return false
	}
	r.BaseURL = s.BaseURL
	return true
}

// crlBase is the URL prefix of r's CRLs ("" when certificates carry none:
// a SHORT_LIVED_CERTIFICATE CA, CRLs disabled, or a CA that cannot sign
// CRLs).
func (s *Service) crlBase(r *Record) string {
	if r.UsageMode == UsageShortLived || !r.SignsCRLs() {
		return ""
	}
	rc := r.Revocation
	if rc == nil {
		return s.baseURL(r)
	}
	c := rc.CrlConfiguration
	if c == nil || !c.Enabled {
		return ""
	}
	if c.CustomCname != "" {
		return "http://" + c.CustomCname
	}
	return s.baseURL(r)
}

// CRLURL is the distribution point of r's CRL, or of its partition n (n < 0:
// the complete CRL); "" when r's certificates carry none.
func (s *Service) CRLURL(r *Record, n int) string {
	if !r.SignsCRLs() {
		// Not even a partition recorded before: no CRL answers there.
		return ""
	}
	base := s.crlBase(r)
	if n >= 0 {
		base = s.partitionBase(r, n)
	}
	if base == "" {
		return ""
	}
	if n >= 0 {
		return fmt.Sprintf("%s/crl/%s/%d.crl", base, r.ID, n)
	}
	return base + "/crl/" + r.ID + ".crl"
}

// CarriedCRLURL is the CRL distribution point r's certificates carry (of
// its complete CRL; a PARTITIONED CA's name their partition's below it),
// "" when they carry none.
func (s *Service) CarriedCRLURL(r *Record) string { return s.carriedCRLURL(r, -1) }

// carriedCRLURL is the CRL distribution point a certificate of r's
// partition part (-1: the complete CRL) carries, "" when its revocation
// configuration omits it: the one rule of sign and ca describe.
func (s *Service) carriedCRLURL(r *Record, part int) string {
	if r.Revocation != nil && r.Revocation.CrlConfiguration.omitsCDP() {
		return ""
	}
	return s.CRLURL(r, part)
}

// OCSPURL is r's AIA OCSP location, or "".
func (s *Service) OCSPURL(r *Record) string {
	if r.UsageMode == UsageShortLived {
		return ""
	}
	rc := r.Revocation
	if rc == nil {
		if s.baseURL(r) == "" {
			return ""
		}
		return s.baseURL(r) + "/ocsp"
	}
	o := rc.OcspConfiguration
	if o == nil || !o.Enabled {
		return ""
	}
	if o.OcspCustomCname != "" {
		return "http://" + o.OcspCustomCname + "/ocsp"
	}
	if s.baseURL(r) == "" {
		return ""
	}
	return s.baseURL(r) + "/ocsp"
}

// UnlocatedRevocation says which members of r's revocation configuration
// are enabled at ca.base_url while this host has none set, so that the
// certificates issued here carry no such location ("" when none): a
// configuration that says enabled while no certificate carries the
// location would mislead a script reading it (tester: a CRL-only update
// of a default CA left OCSP enabled, at a ca.base_url not set).
func (s *Service) UnlocatedRevocation(r *Record) string {
	if s.baseURL(r) != "" || r.UsageMode == UsageShortLived {
		return ""
	}
	rc := r.Revocation
	if rc == nil {
		return ""
	}
	var at []string
	if c := rc.CrlConfiguration; c != nil && c.Enabled && c.CustomCname == "" && r.SignsCRLs() {
		at = append(at, "the CRL (CrlConfiguration: its distribution point)")
	}
	if o := rc.OcspConfiguration; o != nil && o.Enabled && o.OcspCustomCname == "" {
		at = append(at, "OCSP (OcspConfiguration: its AIA location)")
	}
	if len(at) == 0 {
		return ""
	}
	return fmt.Sprintf("certificate authority %s publishes %s at ca.base_url, which is not set on this host, nor recorded by the certificate authority: the certificates issued here carry no such location (certctl config set ca.base_url URL, or give a CustomCname / OcspCustomCname)",
		r.ID, strings.Join(at, " and "))
}

// crlExpiry is how long r's CRLs stay current.
func crlExpiry(r *Record) time.Duration {
	if rc := r.Revocation; rc != nil && rc.CrlConfiguration != nil && rc.CrlConfiguration.ExpirationInDays > 0 {
		return time.Duration(rc.CrlConfiguration.ExpirationInDays) * timeutil.Day
	}
	return CRLValidity
}

// partitionOf is the CRL partition a serial of a PARTITIONED CA belongs
// to: the low 16 bits of its magnitude (big-endian octets, as
// big.Int.Bytes gives them).
func partitionOf(serial []byte) int {
	p := 0
	if n := len(serial); n > 0 {
		p = int(serial[n-1])
		if n > 1 {
			p |= int(serial[n-2]) << 8
		}
	}
	return p & (maxPartitions - 1)
}

// UpdateRevocation changes r's revocation configuration with rc, as AWS
// Private CA's UpdateCertificateAuthority does: a member rc gives
// (CrlConfiguration, OcspConfiguration) replaces r's, and a member it
// omits is kept as it is; {"Enabled":false} turns one off. A CA created
// without a configuration kept the default (a COMPLETE CRL and OCSP at
// ca.base_url): the member omitted stays enabled at ca.base_url.
func (s *Service) UpdateRevocation(tx localstore.Tx, r *Record, rc *RevocationConfiguration) error {
	switch r.Status {
	case StatusDeleted:
		return invalidState("certificate authority %s is DELETED", r.ID)
	}
	if err := checkShortLivedRevocation(r.UsageMode, r.ID, rc); err != nil {
		return err
	}
	if rc != nil && rc.CrlConfiguration != nil && rc.CrlConfiguration.Enabled && !r.SignsCRLs() {
		// Accepted, it would change nothing (no CRL is signed, none is
		// pointed at): a script must not believe it turned CRLs on.
		return errs.Refusedf("certificate authority %s cannot sign CRLs: its certificate's Key Usage lacks cRLSign, so a CRL cannot be enabled; the OCSP responder (certctl ca serve) answers for its certificates", r.ID)
	}
	if r.IssuedCount > 0 && len(r.PartitionBases) == 0 {
		// Partitions opened before their locations were recorded: the
		// location they were issued with is taken to be the one that is
		// about to change.
		r.notePartitionBase(PartitionBase{From: 0, Base: s.crlBase(r), Cname: crlCname(r)})
	}
	r.Revocation = mergeRevocation(r.Revocation, rc)
	r.LastStateChangeAt = s.Now()
	s.noteBaseURL(r, true)
	return Put(tx, r)
}

// checkShortLivedRevocation refuses (exit 4) a revocation configuration
// that enables a CRL or OCSP for a SHORT_LIVED_CERTIFICATE CA: its
// certificates carry neither a CRL distribution point nor an OCSP location
// (SPEC section 3), so it would change nothing, and a script must not
// believe it turned revocation on. A configuration that leaves both off
// is accepted. id is the CA's ("" at its creation).
func checkShortLivedRevocation(usageMode, id string, rc *RevocationConfiguration) error {
	if usageMode != UsageShortLived || rc == nil {
		return nil
	}
	var on []string
	if c := rc.CrlConfiguration; c != nil && c.Enabled {
		on = append(on, "a CRL (CrlConfiguration)")
	}
	if o := rc.OcspConfiguration; o != nil && o.Enabled {
		on = append(on, "OCSP (OcspConfiguration)")
	}
	if len(on) == 0 {
		return nil
	}
	what := strings.Join(on, " and ")
	if id == "" {
		return errs.Invalidf("a SHORT_LIVED_CERTIFICATE CA's certificates carry no CRL distribution point and no OCSP location: %s cannot be enabled for it", what)
	}
	return errs.Invalidf("certificate authority %s is SHORT_LIVED_CERTIFICATE: its certificates carry no CRL distribution point and no OCSP location, so %s cannot be enabled", id, what)
}

// mergeRevocation is the configuration of a CA that had old (nil: the
// default) after an update that gives rc: rc's members, and old's for the
// members rc omits.
func mergeRevocation(old, rc *RevocationConfiguration) *RevocationConfiguration {
	if rc == nil {
		return old
	}
	if old == nil {
		// The default's members as a configuration says them: enabled,
		// at ca.base_url (no CNAME), a COMPLETE CRL lasting CRLValidity.
		old = &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{Enabled: true, CrlType: CRLComplete,
			ExpirationInDays: int(CRLValidity / timeutil.Day)}, // as ca describe showed it (tester)
			OcspConfiguration: &OcspConfiguration{Enabled: true}}
	}
	out := &RevocationConfiguration{CrlConfiguration: rc.CrlConfiguration, OcspConfiguration: rc.OcspConfiguration}
	if out.CrlConfiguration == nil && old.CrlConfiguration != nil {
		c := *old.CrlConfiguration
		out.CrlConfiguration = &c
	}
	if out.OcspConfiguration == nil && old.OcspConfiguration != nil {
		o := *old.OcspConfiguration
		out.OcspConfiguration = &o
	}
	return out
}

// signatureAlgorithm is the x509 algorithm of r's SigningAlgorithm (0:
// the key's default, for records written before it was chosen).
func signatureAlgorithm(r *Record, pub any) x509.SignatureAlgorithm {
	if r.SigningAlgorithm == "" {
		return x509.UnknownSignatureAlgorithm
	}
	alg, err := casign.ParseSigningAlgorithm(r.SigningAlgorithm, pub)
	if err != nil {
		return x509.UnknownSignatureAlgorithm
	}
	return alg
}

// idempotencyKey is a digest of everything a creation asked for but the
// token.
func idempotencyKey(req CreateRequest) string {
	if req.IdempotencyKey != "" {
		return req.IdempotencyKey
	}
	req.IdempotencyToken = ""
	b, _ := json.Marshal(req)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// IdempotencyWindow is how long --idempotency-token names one creation.
const IdempotencyWindow = time.Hour

// IdempotencyTokenUsed reports whether a CA was created within the window
// with the idempotency token tok: a creation with it returns that CA or is
// refused, and makes no key (a PKCS11 CA's key is generated in the token
// before the creation's transaction, so a retry must know beforehand).
func (s *Service) IdempotencyTokenUsed(tx localstore.Tx, tok string) (bool, error) {
	if tok == "" {
		return false, nil
	}
	all, err := List(tx)
	if err != nil {
		return false, err
	}
	now := s.Now()
	for _, r := range all {
		if r.IdempotencyToken == tok && now.Sub(r.CreatedAt) <= IdempotencyWindow {
			return true, nil
		}
	}
	return false, nil
}

// findIdempotent returns the CA created within the window with req's token,
// refusing the token for a different request.
func (s *Service) findIdempotent(tx localstore.Tx, req CreateRequest) (*Record, error) {
	if req.IdempotencyToken == "" {
		return nil, nil
	}
	all, err := List(tx)
	if err != nil {
		return nil, err
	}
	key := idempotencyKey(req)
	now := s.Now()
	for _, r := range all {
		if r.IdempotencyToken != req.IdempotencyToken || now.Sub(r.CreatedAt) > IdempotencyWindow {
			continue
		}
		if r.IdempotencyKey != key {
			return nil, errs.Refusedf("idempotency token %q was used within the hour to create %s with other arguments", req.IdempotencyToken, r.ID).
				WithCode(inventory.CodeIdempotencyConflict)
		}
		return r, nil
	}
	return nil, nil
}

// EffectiveRevocation is r's revocation configuration as it applies: a CA
// created without one publishes a COMPLETE CRL and OCSP at ca.base_url
// when that is set; a SHORT_LIVED_CERTIFICATE CA publishes nothing; a CA
// that cannot sign CRLs (SignsCRLs) publishes no CRL, whatever its
// configuration says.
func (s *Service) EffectiveRevocation(r *Record) *RevocationConfiguration {
	if r.UsageMode == UsageShortLived {
		return &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{}, OcspConfiguration: &OcspConfiguration{}}
	}
	rc := r.Revocation
	if rc == nil {
		on := s.baseURL(r) != ""
		crl := &CrlConfiguration{Enabled: on}
		if on {
			crl.ExpirationInDays = int(CRLValidity / timeutil.Day)
			crl.CrlType = CRLComplete
		}
		rc = &RevocationConfiguration{CrlConfiguration: crl, OcspConfiguration: &OcspConfiguration{Enabled: on}}
	}
	if !r.SignsCRLs() {
		return &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{}, OcspConfiguration: rc.OcspConfiguration}
	}
	return rc
}
