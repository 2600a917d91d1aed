package list

import (
	"io"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/output"
)

// writeJSON writes out as Print does with -o json (the same bytes: see
// TestWriteJSONMatchesPrint), without reflection: a list of ten thousand
// summaries is megabytes of JSON.
func writeJSON(w io.Writer, out Output) error {
	j := output.NewJSONWriter(w)
	j.BeginObject()
	j.Key("CertificateSummaryList")
	if out.CertificateSummaryList == nil {
		j.Null()
	} else {
		j.BeginArray()
		for i := range out.CertificateSummaryList {
			writeSummary(j, &out.CertificateSummaryList[i])
		}
		j.EndArray()
	}
	j.Key("NextToken")
	if out.NextToken == nil {
		j.Null()
	} else {
		j.String(*out.NextToken)
	}
	j.EndObject()
	return j.Close()
}

// writeSummary writes the fields of inventory.Summary in its order, with
// its omissions.
func writeSummary(j *output.JSONWriter, s *inventory.Summary) {
	j.BeginObject()
	j.Key("CertificateArn")
	j.String(s.CertificateArn)
	j.Key("DomainName")
	j.String(s.DomainName)
	j.Key("SubjectAlternativeNameSummaries")
	stringList(j, s.SubjectAlternativeNameSummaries)
	j.Key("HasAdditionalSubjectAlternativeNames")
	j.Bool(s.HasAdditionalSubjectAlternativeNames)
	j.Key("Status")
	j.String(s.Status)
	j.Key("Type")
	j.String(s.Type)
	j.Key("KeyAlgorithm")
	j.String(s.KeyAlgorithm)
	j.Key("KeyPairOrigin")
	j.String(s.KeyPairOrigin)
	j.Key("KeyUsages")
	stringList(j, s.KeyUsages)
	j.Key("ExtendedKeyUsages")
	stringList(j, s.ExtendedKeyUsages)
	if s.ExportOption != "" {
		j.Key("ExportOption")
		j.String(s.ExportOption)
	}
	j.Key("InUse")
	j.Bool(s.InUse)
	j.Key("Exported")
	j.Bool(s.Exported)
	j.Key("RenewalEligibility")
	j.String(s.RenewalEligibility)
	timestamp(j, "NotBefore", s.NotBefore)
	timestamp(j, "NotAfter", s.NotAfter)
	timestamp(j, "CreatedAt", s.CreatedAt)
	timestamp(j, "IssuedAt", s.IssuedAt)
	timestamp(j, "ImportedAt", s.ImportedAt)
	timestamp(j, "RevokedAt", s.RevokedAt)
	j.EndObject()
}

// stringList writes a list, null when nil (as encoding/json does).
func stringList(j *output.JSONWriter, l []string) {
	if l == nil {
		j.Null()
		return
	}
	j.Strings(l)
}

// timestamp writes an omitempty timestamp member.
func timestamp(j *output.JSONWriter, key string, t *inventory.Timestamp) {
	if t != nil {
		j.Key(key)
		j.String(t.String())
	}
}
