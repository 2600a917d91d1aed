package certificates

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/seed"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestListInputQuery(t *testing.T) {
	yes := true
	month := 30 * 24 * time.Hour
	in := ListInput{Statuses: []string{"ISSUED"}, InUse: &yes, ExpiringWithin: &month, SortBy: "NOT_AFTER",
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
	var zero time.Duration
	if q := (ListInput{ExpiringWithin: &zero}).query(t0); !q.Filter.NotAfterBefore.Equal(t0) {
		t.Errorf("--expiring-within 0: %v, want the certificates past NotAfter now", q.Filter.NotAfterBefore)
	}
}

// TestListEach: ListEach hands out List's page a block at a time, in
// order, never a block twice or empty, with List's next token (a block is
// reused after emit: it is kept as JSON); an error of emit ends the list
// and comes back as it is.
func TestListEach(t *testing.T) {
	s := seededService(t, 600)
	ctx := context.Background()
	first, err := s.List(ctx, ListInput{SortBy: "NOT_AFTER", MaxItems: 100})
	if err != nil || first.NextToken == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	for _, in := range []ListInput{{}, {MaxItems: 300}, {SortBy: "NOT_AFTER", StartingToken: first.NextToken}} {
		want, err := s.List(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		blocks := 0
		page, err := s.ListEach(ctx, in, func(b []inventory.Summary) error {
			if len(b) == 0 {
				t.Error("empty block")
			}
			blocks++
			for _, c := range b {
				got = append(got, summaryJSON(t, c))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if blocks < 2 || len(want.Certificates) < 300 {
			t.Errorf("%+v: %d blocks of %d certificates: want a list of several blocks", in, blocks, len(got))
		}
		var wantJSON []string
		for _, c := range want.Certificates {
			wantJSON = append(wantJSON, summaryJSON(t, c))
		}
		if !reflect.DeepEqual(got, wantJSON) || page.NextToken != want.NextToken || page.Certificates != nil {
			t.Errorf("%+v: ListEach gave %d certificates and token %q, List %d and %q", in, len(got), page.NextToken,
				len(want.Certificates), want.NextToken)
		}
	}
	stop := errors.New("pipe closed")
	calls := 0
	_, err = s.ListEach(ctx, ListInput{}, func([]inventory.Summary) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("emit failing: %v after %d calls, want its very error (not the vault's) after 1", err, calls)
	}
}

// rerunStore runs every read twice, as PostgreSQL does after a
// serialization failure: the first run's outcome is dropped.
type rerunStore struct{ localstore.Store }

func (r rerunStore) View(ctx context.Context, fn func(localstore.Tx) error) error {
	if err := r.Store.View(ctx, fn); err != nil {
		return err
	}
	return r.Store.View(ctx, fn)
}

// A read run again: List collects afresh (no certificate twice);
// ListEach, which has printed part of the list, fails with exit 1 instead
// of handing a block out twice.
func TestListReadRunAgain(t *testing.T) {
	s := seededService(t, 300)
	ctx := context.Background()
	s.core.Vault.Store = rerunStore{s.core.Vault.Store}
	page, err := s.List(ctx, ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range page.Certificates {
		seen[c.CertificateArn] = true
	}
	if len(page.Certificates) != 300 || len(seen) != 300 {
		t.Errorf("List over a read run twice: %d certificates, %d distinct; want 300", len(page.Certificates), len(seen))
	}
	got := 0
	_, err = s.ListEach(ctx, ListInput{}, func(b []inventory.Summary) error { got += len(b); return nil })
	if errs.ExitCodeOf(err) != errs.ExitFailure || !strings.Contains(err.Error(), "run it again") || got != 300 {
		t.Errorf("ListEach over a read run twice: %v (exit %d) after %d certificates; want exit 1, saying to run it again, after 300", err, errs.ExitCodeOf(err), got)
	}
}

// seededService is newService at t0 over a vault of n imported
// certificates.
func seededService(t *testing.T, n int) *Service {
	t.Helper()
	now := t0
	s := newService(t, &now)
	if err := seed.Imported(context.Background(), s.core.Vault, n, now); err != nil {
		t.Fatal(err)
	}
	return s
}

// summaryJSON is c's JSON.
func summaryJSON(t *testing.T, c inventory.Summary) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
