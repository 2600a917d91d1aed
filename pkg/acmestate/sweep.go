package acmestate

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// SweepGrace is how long an expired order or authorization is kept before
// it is swept: for that long a client reading it still sees it (invalid or
// expired) rather than a 404.
const SweepGrace = 24 * time.Hour

// Sweep deletes, at now, at most max (≥ 1) of the orders and authorizations
// that expired more than SweepGrace ago and of the rate windows with no
// event in the last window, and reports how many it deleted. Run it again
// while it returns max.
func Sweep(tx localstore.Tx, now time.Time, max int) (int, error) {
	n := 0
	cut := now.Add(-SweepGrace)
	for _, kind := range []string{KindOrder, KindAuthz} {
		objs, err := tx.ListObjects(kind)
		if err != nil {
			return n, err
		}
		for _, o := range objs {
			if n >= max {
				return n, nil
			}
			var head struct {
				Expires time.Time `json:"expires"`
			}
			if err := json.Unmarshal(o.Data, &head); err != nil {
				return n, fmt.Errorf("%w: %s %s: %v", localstore.ErrCorrupt, kind, o.ID, err)
			}
			if head.Expires.IsZero() || !head.Expires.Before(cut) {
				continue
			}
			if err := tx.DeleteObject(kind, o.ID); err != nil {
				return n, err
			}
			n++
		}
	}
	objs, err := tx.ListObjects(KindRate)
	if err != nil {
		return n, err
	}
	from := now.Add(-RateWindow).UnixMilli()
	for _, o := range objs {
		if n >= max {
			return n, nil
		}
		var rec rateRecord
		if err := json.Unmarshal(o.Data, &rec); err != nil {
			return n, fmt.Errorf("%w: %s %s: %v", localstore.ErrCorrupt, KindRate, o.ID, err)
		}
		if len(rec.Times) > 0 && rec.Times[len(rec.Times)-1] > from {
			continue
		}
		if err := tx.DeleteObject(KindRate, o.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
