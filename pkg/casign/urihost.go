package casign

import (
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// uriHostOK reports whether a URI subject alternative name meets RFC 5280
// 4.2.1.6 as zlint's e_ext_san_uri_host_not_fqdn_or_ip judges it (SPEC:
// every certificate passes zlint): a URI with an authority must name a
// fully qualified domain name or an IP address as its host. A URI without
// one (urn:…, an opaque part) has no host to judge.
//
// The test is zlint's own (v3.6.1 util.IsFQDNOrIP over url.URL.Host, port
// included), so that certctl refuses exactly what zlint refuses: a host of
// a single label (spiffe://prod/…, https://intranet/…) and, with it, the
// few multi-label names its pattern does not take (one-letter labels in
// some places, such as x.a.example). A host crypto/x509 could not read
// back from the certificate (a trailing dot) is refused as well.
func uriHostOK(u *url.URL) bool {
	if u.Opaque != "" {
		return true
	}
	h := u.Host
	if h == "" || !goReadsHost(h) {
		return false
	}
	return net.ParseIP(h) != nil || zlintFQDN(h)
}

// goReadsHost reports whether crypto/x509 reads a certificate whose URI
// names host back (its domainToReverseLabels): no empty label — so no
// trailing dot, which zlint would pass — and printable ASCII only.
func goReadsHost(host string) bool {
	for _, l := range strings.Split(host, ".") {
		if l == "" {
			return false
		}
	}
	for i := 0; i < len(host); i++ {
		if host[i] < 33 || host[i] > 126 {
			return false
		}
	}
	return true
}

// zlintFQDN is zlint's util.IsFQDN: zcrypto's util.IsURL on the host with
// a leading "*." or "?." labels removed.
func zlintFQDN(host string) bool {
	host = strings.TrimPrefix(host, "*.")
	for strings.HasPrefix(host, "?.") {
		host = host[2:]
	}
	return zcryptoIsURL(host)
}

// zcryptoIsURL is github.com/zmap/zcrypto/util.IsURL, which zlint uses as
// its FQDN test. It comes from github.com/asaskevich/govalidator
// (Copyright (c) 2014 Alex Saskevich, MIT License).
func zcryptoIsURL(str string) bool {
	if str == "" || len([]rune(str)) >= 2083 || len(str) <= 3 || strings.HasPrefix(str, ".") {
		return false
	}
	strTemp := str
	if strings.Contains(str, ":") && !strings.Contains(str, "://") {
		// A port without a scheme: url.Parse needs one.
		strTemp = "http://" + str
	}
	u, err := url.Parse(strTemp)
	if err != nil {
		return false
	}
	if strings.HasPrefix(u.Host, ".") {
		return false
	}
	if u.Host == "" && (u.Path != "" && !strings.Contains(u.Path, ".")) {
		return false
	}
	return rxZcryptoURL().MatchString(str)
}

// rxZcryptoURL is zcrypto's util.URL pattern, unchanged, compiled when a
// URI is first checked (not at every start of the program).
var rxZcryptoURL = sync.OnceValue(func() *regexp.Regexp {
	const (
		ip           = `(([0-9a-fA-F]{1,4}:){7,7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:)|fe80:(:[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]{1,}|::(ffff(:0{1,4}){0,1}:){0,1}((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])|([0-9a-fA-F]{1,4}:){1,4}:((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9]))`
		urlSchema    = `((ftp|tcp|udp|wss?|https?):\/\/)`
		urlUsername  = `(\S+(:\S*)?@)`
		urlPath      = `((\/|\?|#)[^\s]*)`
		urlPort      = `(:(\d{1,5}))`
		urlIP        = `([1-9]\d?|1\d\d|2[01]\d|22[0-3])(\.(1?\d{1,2}|2[0-4]\d|25[0-5])){2}(?:\.([0-9]\d?|1\d\d|2[0-4]\d|25[0-4]))`
		urlSubdomain = `((www\.)|([a-zA-Z0-9]+([-_\.]?[a-zA-Z0-9])*[a-zA-Z0-9]\.[a-zA-Z0-9]+))`
	)
	return regexp.MustCompile(`^` + urlSchema + `?` + urlUsername + `?` + `((` + urlIP + `|(\[` + ip + `\])|(([a-zA-Z0-9]([a-zA-Z0-9-_]+)?[a-zA-Z0-9]([-\.][a-zA-Z0-9]+)*)|(` + urlSubdomain + `?))?(([a-zA-Z\x{00a1}-\x{ffff}0-9]+-?-?)*[a-zA-Z\x{00a1}-\x{ffff}0-9]+)(?:\.([a-zA-Z\x{00a1}-\x{ffff}]{1,}))?))\.?` + urlPort + `?` + urlPath + `?$`)
})
