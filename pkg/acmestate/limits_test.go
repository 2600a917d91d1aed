package acmestate

import (
	"errors"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

func TestAdmitSlidingWindow(t *testing.T) {
	v := openVault(t)
	admit := func(at time.Time) time.Duration {
		t.Helper()
		var wait time.Duration
		update(t, v, func(tx localstore.Tx) error {
			var err error
			wait, err = Admit(tx, "ep/orders/a", 3, at)
			return err
		})
		return wait
	}
	for i := range 3 {
		if w := admit(t0.Add(time.Duration(i) * 10 * time.Minute)); w != 0 {
			t.Fatalf("event %d refused (%v)", i+1, w)
		}
	}
	// Events at t0, t0+10m, t0+20m; at t0+30m the first leaves at t0+60m.
	if w := admit(t0.Add(30 * time.Minute)); w != 30*time.Minute {
		t.Errorf("4th: wait %v, want 30m", w)
	}
	// A fraction of a second rounds up.
	if w := admit(t0.Add(59*time.Minute + 59*time.Second + 500*time.Millisecond)); w != time.Second {
		t.Errorf("just before: wait %v, want 1s", w)
	}
	if w := admit(t0.Add(time.Hour)); w != 0 {
		t.Errorf("at t0+1h: wait %v, want admitted", w)
	}
	// Now t0+10m, t0+20m, t0+60m are in the window.
	if w := admit(t0.Add(time.Hour + time.Minute)); w != 9*time.Minute {
		t.Errorf("at t0+61m: wait %v, want 9m", w)
	}
	// Another key is another window; no limit admits everything.
	update(t, v, func(tx localstore.Tx) error {
		if w, err := Admit(tx, "ep/orders/b", 3, t0); err != nil || w != 0 {
			t.Errorf("other key: %v %v", w, err)
		}
		if w, err := Admit(tx, "ep/orders/a", 0, t0.Add(time.Hour+time.Minute)); err != nil || w != 0 {
			t.Errorf("limit 0: %v %v", w, err)
		}
		return nil
	})
}

func TestSweep(t *testing.T) {
	v := openVault(t)
	exp := t0.Add(7 * 24 * time.Hour)
	update(t, v, func(tx localstore.Tx) error {
		for _, id := range []string{"o1", "o2", "o3"} {
			if err := PutOrder(tx, &Order{ID: id, EndpointID: "ep", Status: AcmeValid, Expires: exp, UpdatedAt: t0}); err != nil {
				return err
			}
		}
		if err := PutOrder(tx, &Order{ID: "late", EndpointID: "ep", Status: AcmeReady, Expires: exp.Add(time.Hour), UpdatedAt: t0}); err != nil {
			return err
		}
		if err := PutAuthz(tx, &Authz{ID: "z1", EndpointID: "ep", Status: AcmeValid, Expires: exp, UpdatedAt: t0}); err != nil {
			return err
		}
		if _, err := Admit(tx, "ep/orders/a", 10, exp); err != nil {
			return err
		}
		_, err := Admit(tx, "ep/new-accounts", 10, exp.Add(SweepGrace))
		return err
	})
	sweep := func(at time.Time, max int) int {
		t.Helper()
		var n int
		update(t, v, func(tx localstore.Tx) error {
			var err error
			n, err = Sweep(tx, at, max)
			return err
		})
		return n
	}
	// Within the grace nothing goes.
	if n := sweep(exp.Add(time.Minute), 100); n != 0 {
		t.Errorf("within the grace: swept %d", n)
	}
	at := exp.Add(SweepGrace + time.Minute)
	// Bounded per run: 2, then the rest (o3, z1 and the orders window; the
	// late order and the live new-accounts window stay).
	if n := sweep(at, 2); n != 2 {
		t.Errorf("first run swept %d, want 2", n)
	}
	if n := sweep(at, 100); n != 3 {
		t.Errorf("second run swept %d, want 3", n)
	}
	view(t, v, func(tx localstore.Tx) error {
		for _, k := range [][2]string{{KindOrder, "o1"}, {KindOrder, "o2"}, {KindOrder, "o3"}, {KindAuthz, "z1"}, {KindRate, "ep/orders/a"}} {
			if _, err := tx.GetObject(k[0], k[1]); !errors.Is(err, localstore.ErrNotFound) {
				t.Errorf("%s %s not swept (%v)", k[0], k[1], err)
			}
		}
		for _, k := range [][2]string{{KindOrder, "late"}, {KindRate, "ep/new-accounts"}} {
			if _, err := tx.GetObject(k[0], k[1]); err != nil {
				t.Errorf("%s %s swept too early: %v", k[0], k[1], err)
			}
		}
		return nil
	})
}
