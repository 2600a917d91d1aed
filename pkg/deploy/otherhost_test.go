package deploy

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestOtherHostTargets: the targets of another identity are counted, or,
// with a name (a store other hosts share), only those of a host of that
// name under another identity (review: on PostgreSQL no restore warned).
func TestOtherHostTargets(t *testing.T) {
	ctx := context.Background()
	st, err := localstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "vault.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Update(ctx, func(tx localstore.Tx) error {
		return putTargets(tx, "c1", []Target{
			{HostID: "id-a", Host: "web1", CertFile: "/a.crt"},
			{HostID: "id-b", Host: "web2", CertFile: "/b.crt"},
			{CertFile: "/nohost.crt"},
		}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, named string
		want      int
	}{{"id-c", "", 2}, {"id-a", "", 1}, {"id-c", "web1", 1}, {"id-a", "web1", 0}, {"id-c", "web3", 0}} {
		_ = st.View(ctx, func(tx localstore.Tx) error {
			n, hosts, err := OtherHostTargets(tx, c.id, c.named)
			if err != nil || n != c.want || len(hosts) != c.want {
				t.Errorf("OtherHostTargets(%q, %q) = %d %v %v, want %d", c.id, c.named, n, hosts, err, c.want)
			}
			return nil
		})
	}
}
