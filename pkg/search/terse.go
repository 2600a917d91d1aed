package search

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// TerseHelp describes the terse query terms.
const TerseHelp = `san:GLOB cn:GLOB status:S type:T origin:O key:ALG eku:NAME ku:NAME serial:HEX
tag:K=V tag:K ca:CA endpoint:EP renewal:STATUS in-use:true|false exported:true|false
expires<D expires>D (D a duration from now, e.g. 30d); !TERM negates a term;
CA and EP are an ARN, a UUID or a unique prefix (one that names nothing: exit 3)`

// TermError is a query ParseTerse cannot read for its terms: the message
// is one line, and the terms (TerseHelp) are for a hint below it
// (newcomer tester: the error was the whole term list, five lines).
type TermError struct{ Msg string }

func (e *TermError) Error() string { return e.Msg }

// ParseTerse parses a one-line query such as
// `san:*.example.com status:ISSUED expires<30d tag:env=prod` into a
// statement: the terms are ANDed; a leading ! (or -) negates one.
func ParseTerse(q string, now time.Time) (*Statement, error) {
	var terms []Statement
	for _, tok := range strings.Fields(q) {
		neg := strings.HasPrefix(tok, "!") || strings.HasPrefix(tok, "-")
		tok = strings.TrimLeft(tok, "!-")
		f, err := terseTerm(tok, now)
		if err != nil {
			return nil, err
		}
		st := Statement{Filter: f}
		if neg {
			inner := st
			st = Statement{Not: &inner}
		}
		terms = append(terms, st)
	}
	if len(terms) == 0 {
		return nil, &TermError{Msg: "empty query"}
	}
	st := &Statement{And: terms}
	if err := st.check(0); err != nil {
		return nil, err
	}
	return st, nil
}

func strp(s string) *string { return &s }

func terseTerm(tok string, now time.Time) (*Filter, error) {
	for _, op := range []string{"expires<", "expires>"} {
		if v, ok := strings.CutPrefix(tok, op); ok {
			d, err := timeutil.ParseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("term %q: %v", tok, err)
			}
			t := now.Add(d)
			r := &TimeRange{}
			if op == "expires<" {
				r.End = &t
			} else {
				r.Start = &t
			}
			return &Filter{X509AttributeFilter: &X509Filter{NotAfter: r}}, nil
		}
	}
	key, val, ok := strings.Cut(tok, ":")
	if !ok || val == "" {
		return nil, &TermError{Msg: fmt.Sprintf("term %q is not KEY:VALUE", tok)}
	}
	boolean := func() (*bool, error) {
		switch val {
		case "true":
			b := true
			return &b, nil
		case "false":
			b := false
			return &b, nil
		}
		return nil, fmt.Errorf("term %q: use true or false%s", tok, didYouMean(val, []string{"true", "false"}))
	}
	x := func(a X509Filter) *Filter { return &Filter{X509AttributeFilter: &a} }
	m := func(a MetadataFilter) *Filter { return &Filter{AcmCertificateMetadataFilter: &a} }
	switch key {
	case "san", "name", "domain":
		return x(X509Filter{SubjectAlternativeName: &struct{ DnsName *StringMatch }{&StringMatch{Value: val, Glob: true}}}), nil
	case "cn":
		return x(X509Filter{Subject: &struct{ CommonName *StringMatch }{&StringMatch{Value: val, Glob: true}}}), nil
	case "eku":
		return x(X509Filter{ExtendedKeyUsage: strp(val)}), nil
	case "ku":
		return x(X509Filter{KeyUsage: strp(val)}), nil
	case "key", "alg":
		return x(X509Filter{KeyAlgorithm: strp(val)}), nil
	case "serial":
		return x(X509Filter{SerialNumber: strp(val)}), nil
	case "status":
		return m(MetadataFilter{Status: strp(val)}), nil
	case "type":
		return m(MetadataFilter{Type: strp(val)}), nil
	case "origin":
		return m(MetadataFilter{CertificateKeyPairOrigin: strp(val)}), nil
	case "renewal":
		return m(MetadataFilter{RenewalStatus: strp(val)}), nil
	case "ca":
		return m(MetadataFilter{CertificateAuthorityArn: strp(val)}), nil
	case "endpoint":
		return m(MetadataFilter{AcmeEndpointArn: strp(val)}), nil
	case "in-use", "inuse":
		b, err := boolean()
		if err != nil {
			return nil, err
		}
		return m(MetadataFilter{InUse: b}), nil
	case "exported":
		b, err := boolean()
		if err != nil {
			return nil, err
		}
		return m(MetadataFilter{Exported: b}), nil
	case "tag":
		k, v, _ := strings.Cut(val, "=")
		return &Filter{Tag: &localstore.Tag{Key: k, Value: v}}, nil
	}
	return nil, &TermError{Msg: fmt.Sprintf("unknown term %q%s", key, didYouMean(key, terseKeys))}
}

// terseKeys are the KEY words of KEY:VALUE terms. They are exact, like the
// values (status:ISSUED, not status:issued): one rule for every
// enumerated word.
var terseKeys = []string{"san", "name", "domain", "cn", "eku", "ku", "key", "alg", "serial", "status", "type",
	"origin", "renewal", "ca", "endpoint", "in-use", "inuse", "exported", "tag"}

// TerseKeys are the KEY words of the terse query's KEY:VALUE terms (for
// shell completion).
func TerseKeys() []string { return slices.Clone(terseKeys) }

// TerseValues are the values a KEY:VALUE term of key takes when they are
// enumerated (nil otherwise), for shell completion.
func TerseValues(key string) []string {
	switch key {
	case "status":
		return slices.Clone(inventory.Statuses)
	case "type":
		return slices.Clone(inventory.Types)
	case "origin":
		return slices.Clone(inventory.Origins)
	case "renewal":
		return slices.Clone(RenewalStatuses)
	case "key", "alg":
		return slices.Clone(x509util.ImportKeyAlgorithms)
	case "eku":
		return slices.Clone(inventory.ExtendedKeyUsageFilterNames)
	case "ku":
		return slices.Clone(inventory.KeyUsageFilterNames)
	case "in-use", "inuse", "exported":
		return []string{"true", "false"}
	}
	return nil
}

// didYouMean is ": did you mean X?" when v is X of words in another case.
func didYouMean(v string, words []string) string {
	if s := enum.Suggest(v, words); s != "" {
		return ": did you mean " + s + "?"
	}
	return ""
}
