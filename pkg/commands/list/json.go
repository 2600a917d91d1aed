package list

import (
	"io"
	"time"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/output"
)

// The JSON of a list is written without reflection, a block at a time
// (a list of ten thousand summaries is megabytes of JSON), with the bytes
// Print writes with -o json (TestWriteJSONMatchesPrint).

// beginJSON starts writing a list's JSON to w, up to its first summary:
// writeSummaries writes them, in as many calls as it takes, and endJSON
// ends the list and flushes it.
func beginJSON(w io.Writer) *output.JSONWriter {
	j := output.NewJSONWriter(w)
	j.BeginObject()
	j.PlainKey("CertificateSummaryList")
	j.BeginArray()
	return j
}

// writeSummaries writes summaries into the list beginJSON began; its
// error is the first write's that failed.
func writeSummaries(j *output.JSONWriter, l []inventory.Summary) error {
	for i := range l {
		writeSummary(j, &l[i])
	}
	return j.Err()
}

// endJSON ends the list beginJSON began, with its next token, and
// flushes it.
func endJSON(j *output.JSONWriter, next *string) error {
	j.EndArray()
	j.PlainKey("NextToken")
	if next == nil {
		j.Null()
	} else {
		j.String(*next)
	}
	j.EndObject()
	return j.Close()
}

// writeSummary writes the fields of inventory.Summary in its order, with
// its omissions. Its keys are PlainKey's: constants that need no escaping.
func writeSummary(j *output.JSONWriter, s *inventory.Summary) {
	j.BeginObject()
	j.PlainKey("CertificateArn")
	j.String(s.CertificateArn)
	j.PlainKey("DomainName")
	j.String(s.DomainName)
	j.PlainKey("SubjectAlternativeNameSummaries")
	stringList(j, s.SubjectAlternativeNameSummaries)
	j.PlainKey("HasAdditionalSubjectAlternativeNames")
	j.Bool(s.HasAdditionalSubjectAlternativeNames)
	j.PlainKey("Status")
	j.String(s.Status)
	j.PlainKey("Type")
	j.String(s.Type)
	j.PlainKey("KeyAlgorithm")
	j.String(s.KeyAlgorithm)
	j.PlainKey("KeyPairOrigin")
	j.String(s.KeyPairOrigin)
	j.PlainKey("KeyUsages")
	stringList(j, s.KeyUsages)
	j.PlainKey("ExtendedKeyUsages")
	stringList(j, s.ExtendedKeyUsages)
	if s.ExportOption != "" {
		j.PlainKey("ExportOption")
		j.String(s.ExportOption)
	}
	j.PlainKey("InUse")
	j.Bool(s.InUse)
	j.PlainKey("Exported")
	j.Bool(s.Exported)
	j.PlainKey("RenewalEligibility")
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

// timestamp writes an omitempty timestamp member, as
// inventory.Timestamp's String.
func timestamp(j *output.JSONWriter, key string, t *inventory.Timestamp) {
	if t != nil {
		j.PlainKey(key)
		j.Time(time.Time(*t).UTC().Truncate(time.Second), time.RFC3339)
	}
}
