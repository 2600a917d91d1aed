package certificates

import (
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestListInputQuery(t *testing.T) {
	yes := true
	in := ListInput{Statuses: []string{"ISSUED"}, InUse: &yes, ExpiringWithin: 30 * 24 * time.Hour, SortBy: "NOT_AFTER",
		Tags: []TagCondition{{Key: "env", Value: "prod", ValueGiven: true}, {Key: "team"}}, MaxItems: 3, StartingToken: "x"}
	q := in.query(t0)
	if !q.Filter.NotAfterBefore.Equal(t0.Add(30*24*time.Hour)) || q.Filter.InUse != &yes || !q.Now.Equal(t0) || q.MaxItems != 3 || q.StartingToken != "x" {
		t.Errorf("query %+v", q)
	}
	if len(q.Tags) != 2 || q.Tags[0] != (localstore.Tag{Key: "env", Value: "prod"}) || !q.TagValueGiven[0] || q.TagValueGiven[1] {
		t.Errorf("tags %+v %v", q.Tags, q.TagValueGiven)
	}
	if q := (ListInput{}).query(t0); !q.Filter.NotAfterBefore.IsZero() {
		t.Errorf("no --expiring-within: %v", q.Filter.NotAfterBefore)
	}
}
