package acmestate

import (
	"encoding/json"
	"fmt"

	"github.com/certctl/certctl/pkg/localstore"
)

// recordKinds are the ACME records held as JSON, each with the type a
// server decodes it into (EAB credentials are checked with their MAC key,
// elsewhere).
var recordKinds = []struct {
	kind string
	new  func() any
}{
	{KindEndpoint, func() any { return new(Endpoint) }},
	{KindDomain, func() any { return new(Domain) }},
	{KindAccount, func() any { return new(Account) }},
	{KindOrder, func() any { return new(Order) }},
	{KindAuthz, func() any { return new(Authz) }},
	{KindMetrics, func() any { return new(Metrics) }},
	{KindRenewalWindow, func() any { return new(RenewalWindow) }},
	{KindReplacement, func() any { return new(Replacement) }},
	{KindRate, func() any { return new(rateRecord) }}, // its common form is JSON too
}

// idKinds are the ACME records whose data is another record's ID.
var idKinds = []string{KindAccountKey, KindReissue}

// CheckRecords reads every ACME record of tx as a server would, and calls
// problem for each one that does not read (damaged in the database or in
// a backup: a server would fail on it with "corrupt"). It returns how
// many records it read.
func CheckRecords(tx localstore.Tx, problem func(kind, id, why string)) (int, error) {
	n := 0
	for _, k := range recordKinds {
		objs, err := tx.ListObjects(k.kind)
		if err != nil {
			return n, err
		}
		for _, o := range objs {
			n++
			if err := json.Unmarshal(o.Data, k.new()); err != nil {
				problem(o.Kind, o.ID, fmt.Sprintf("unreadable: %v", err))
			}
		}
	}
	for _, kind := range idKinds {
		objs, err := tx.ListObjects(kind)
		if err != nil {
			return n, err
		}
		for _, o := range objs {
			n++
			if !IsRecordID(string(o.Data)) {
				problem(o.Kind, o.ID, "unreadable: it does not name a record")
			}
		}
	}
	return n, nil
}

// IsRecordID reports whether s can be a record's ID: not empty, printable
// ASCII with no space.
func IsRecordID(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
