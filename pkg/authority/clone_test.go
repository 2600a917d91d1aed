package authority

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestRecordCloneSharesNothing: every field of Record that can share
// memory (pointers, slices, maps) is one clone copies; a new such field
// fails here until clone copies it too.
func TestRecordCloneSharesNothing(t *testing.T) {
	var paths []string
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		switch typ.Kind() {
		case reflect.Pointer:
			paths = append(paths, path)
			walk(typ.Elem(), path)
		case reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func:
			paths = append(paths, path)
		case reflect.Struct:
			if typ.PkgPath() != reflect.TypeOf(Record{}).PkgPath() {
				return // time.Time and the like: values that are not changed in place
			}
			for i := 0; i < typ.NumField(); i++ {
				walk(typ.Field(i).Type, path+"."+typ.Field(i).Name)
			}
		}
	}
	walk(reflect.TypeOf(Record{}), "Record")
	want := []string{"Record.Tags", "Record.NameConstraints", "Record.NameConstraints.Permitted",
		"Record.NameConstraints.Permitted.DnsNames", "Record.NameConstraints.Permitted.IpRanges",
		"Record.NameConstraints.Permitted.EmailAddresses", "Record.NameConstraints.Permitted.Uris",
		"Record.NameConstraints.Excluded", "Record.NameConstraints.Excluded.DnsNames",
		"Record.NameConstraints.Excluded.IpRanges", "Record.NameConstraints.Excluded.EmailAddresses",
		"Record.NameConstraints.Excluded.Uris", "Record.Revocation", "Record.Revocation.CrlConfiguration",
		"Record.Revocation.CrlConfiguration.CrlDistributionPointExtensionConfiguration",
		"Record.Revocation.OcspConfiguration", "Record.PartitionBases"}
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		t.Fatalf("Record's shared fields are %v; clone copies %v: update clone", paths, want)
	}

	orig := &Record{ID: "x", Tags: []localstore.Tag{{Key: "k", Value: "v"}},
		NameConstraints: &NameConstraints{Permitted: &Subtrees{DnsNames: []string{".a"}, IpRanges: []string{"10.0.0.0/8"}, EmailAddresses: []string{"a"}, Uris: []string{"u"}},
			Excluded: &Subtrees{DnsNames: []string{".b"}}},
		Revocation:     &RevocationConfiguration{CrlConfiguration: &CrlConfiguration{Enabled: true, CrlDistributionPointExtensionConfiguration: &CdpExtensionConfiguration{}}, OcspConfiguration: &OcspConfiguration{Enabled: true}},
		PartitionBases: []PartitionBase{{From: 0, Base: "http://a"}}}
	before, _ := json.Marshal(orig)
	c := orig.clone()
	c.Tags[0].Value = "changed"
	c.NameConstraints.Permitted.DnsNames[0] = "changed"
	c.NameConstraints.Permitted.IpRanges[0] = "changed"
	c.NameConstraints.Permitted.EmailAddresses[0] = "changed"
	c.NameConstraints.Permitted.Uris[0] = "changed"
	c.NameConstraints.Excluded.DnsNames[0] = "changed"
	c.Revocation.CrlConfiguration.Enabled = false
	c.Revocation.CrlConfiguration.CrlDistributionPointExtensionConfiguration.OmitExtension = true
	c.PartitionBases[0].Base = "changed"
	c.Revocation.OcspConfiguration.Enabled = false
	c.ID = "y"
	if after, _ := json.Marshal(orig); string(after) != string(before) {
		t.Fatalf("changing the clone changed the original:\n%s\n%s", before, after)
	}
}
