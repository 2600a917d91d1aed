package reports

import (
	"context"
	"slices"
	"time"

	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/localstore"
)

// EventQuery selects events of the log.
type EventQuery struct {
	// Since, when set, leaves out events before it.
	Since time.Time
	// Types, when set, keeps only these detail-types.
	Types []string
}

// FollowInterval is how often Follow looks for new events.
const FollowInterval = time.Second

// Events returns the events q selects, oldest first.
func (s *Service) Events(ctx context.Context, q EventQuery) ([]*events.Event, error) {
	evs, _, err := s.readEvents(ctx, q, 0)
	return evs, err
}

// Follow calls emit with each event q selects, oldest first, then with
// each new one as it is logged, until ctx ends (which is not an error) or
// emit fails.
func (s *Service) Follow(ctx context.Context, q EventQuery, emit func(*events.Event) error) error {
	var last int64
	for {
		evs, next, err := s.readEvents(ctx, q, last)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		last = next
		for _, e := range evs {
			if err := emit(e); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(FollowInterval):
		}
	}
}

// readEvents reads the events after seq after and returns them with the
// last seq read (after, when there was none). An event that does not
// decode is skipped.
func (s *Service) readEvents(ctx context.Context, q EventQuery, after int64) ([]*events.Event, int64, error) {
	var out []*events.Event
	last := after
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		out, last = nil, after
		rows, err := tx.ListEvents(after, q.Since, 0)
		if err != nil {
			return err
		}
		for _, r := range rows {
			last = r.Seq
			e, err := events.Decode(r.Data)
			if err != nil {
				continue
			}
			if len(q.Types) == 0 || slices.Contains(q.Types, e.DetailType) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, last, err
}
