package describe

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// RecordFormats are the formats of describe --validation-records.
var RecordFormats = []string{"bind", "csv", "json", "route53"}

// recordTTL is the TTL suggested for validation records.
const recordTTL = 300

// checkRecordsFlag checks --validation-records before the vault is opened.
func checkRecordsFlag(o *DescribeOptions) error {
	if o.PEM && o.Versions {
		// --pem prints the current certificate only: --versions would
		// be ignored (tester).
		return errs.UsageErrorf("--pem prints the current version's certificate and chain: it cannot be used with --versions")
	}
	if o.ValidationRecords == "" {
		return nil
	}
	if err := cmdutil.CheckEnum("validation-records", []string{o.ValidationRecords}, RecordFormats); err != nil {
		return err
	}
	if o.PEM || o.Versions {
		return errs.UsageErrorf("--validation-records cannot be used with --pem or --versions")
	}
	return checkRecordsOutput(o)
}

// checkRecordsOutput refuses an -o that --validation-records cannot
// honour, as ca audit-report does its own (tester: --validation-records
// bind -o json printed the zone file). The records are printed in their
// own format: json and route53 are JSON, which -o json prints as it is and
// -o yaml in YAML; bind and csv have no JSON form but json's, which
// --validation-records json asks for; -o table and -o text have no
// records to show — but with a --query, -o formats what it picks.
func checkRecordsOutput(o *DescribeOptions) error {
	isJSON := o.ValidationRecords == "json" || o.ValidationRecords == "route53"
	switch {
	case o.Output == "":
		return nil
	case o.Output != "json" && o.Output != "yaml":
		if isJSON && o.Query {
			return nil
		}
		return errs.UsageErrorf("-o %s does not apply to --validation-records, whose formats are its own: bind, csv, json or route53 (-o json or -o yaml print the json or route53 records as JSON or YAML)", o.Output)
	case !isJSON:
		return errs.UsageErrorf("--validation-records %s and -o %s cannot be used together: the %s records are not JSON (--validation-records json prints them as JSON)", o.ValidationRecords, o.Output, o.ValidationRecords)
	}
	return nil
}

// route53Batch is a change batch for `aws route53 change-resource-record-sets
// --change-batch file://…`.
type route53Batch struct {
	Comment string          `json:"Comment"`
	Changes []route53Change `json:"Changes"`
}

type route53Change struct {
	Action            string           `json:"Action"`
	ResourceRecordSet route53RecordSet `json:"ResourceRecordSet"`
}

type route53RecordSet struct {
	Name            string          `json:"Name"`
	Type            string          `json:"Type"`
	TTL             int             `json:"TTL"`
	ResourceRecords []route53Record `json:"ResourceRecords"`
}

type route53Record struct {
	Value string `json:"Value"`
}

// writeValidationRecords prints recs in format. bind and route53 hold
// each distinct record once (a wildcard shares its base name's); csv and
// json have one entry per name.
func writeValidationRecords(w io.Writer, recs *certificates.ValidationRecords, format string) error {
	arnStr, perName, distinct := recs.CertificateArn, recs.PerName, recs.Distinct
	switch format {
	case "bind":
		var b strings.Builder
		fmt.Fprintf(&b, "; DNS validation records of %s\n", arnStr)
		for _, r := range distinct {
			fmt.Fprintf(&b, "%s\t%d\tIN\t%s\t%s\n", r.Name, recordTTL, r.Type, r.Value)
		}
		_, err := io.WriteString(w, b.String())
		return err
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"DomainName", "RecordName", "RecordType", "RecordValue"})
		for _, r := range perName {
			_ = cw.Write([]string{r.DomainName, r.Name, r.Type, r.Value})
		}
		cw.Flush()
		return cw.Error()
	case "json", "route53":
		return output.WriteJSON(w, validationRecordsJSON(recs, format))
	}
	return errs.UsageErrorf("invalid value %q for --validation-records", format)
}

// validationRecordsJSON is the document of a JSON format of
// --validation-records (json, route53), nil for the others.
func validationRecordsJSON(recs *certificates.ValidationRecords, format string) any {
	switch format {
	case "json":
		return map[string]any{"CertificateArn": recs.CertificateArn, "ResourceRecords": recs.PerName}
	case "route53":
		batch := route53Batch{Comment: "certctl DNS validation records of " + recs.CertificateArn}
		for _, r := range recs.Distinct {
			batch.Changes = append(batch.Changes, route53Change{Action: "UPSERT", ResourceRecordSet: route53RecordSet{
				Name: r.Name, Type: r.Type, TTL: recordTTL, ResourceRecords: []route53Record{{Value: r.Value}},
			}})
		}
		return batch
	}
	return nil
}
