package localstore

import (
	"fmt"
	"time"
)

// summaryBlock is how many rows a summaryList decodes at once: their
// summaries share one string, their certificates one array.
const summaryBlock = 256

// summaryList decodes the rows of a summary list as they are read, with a
// few allocations per block of rows instead of a dozen per row: the
// summaries of a block are copied into one buffer that becomes one string
// (which every decoded string shares), and the certificates and their
// string lists are handed out of arrays. Rows without a summary, or with
// their tags still in the record (written before the migrations that added
// those columns), are left for the caller to read whole and decode (see
// legacy and setLegacy).
type summaryList struct {
	out []*Certificate
	// legacy are the positions in out of the rows left for the caller.
	legacy []int
	// the pending block: raw summaries, where each ends, and each row's
	// tags (nil: none) and updated_at.
	raw     []byte
	ends    []int
	tags    [][]byte
	updated []*int64
	pos     []int
	certs   []Certificate
	strs    []string
	err     error
}

// add queues a row's summary, tags and updated_at (slices the caller may
// reuse once add returns). A nil summary or tags is a legacy row.
func (l *summaryList) add(summary, tags []byte, updated *int64) {
	if summary == nil || tags == nil {
		l.legacy = append(l.legacy, len(l.out))
		l.out = append(l.out, nil)
		return
	}
	l.raw = append(l.raw, summary...)
	l.ends = append(l.ends, len(l.raw))
	if string(tags) == "[]" { // none, the usual case
		l.tags = append(l.tags, nil)
	} else {
		l.tags = append(l.tags, append([]byte(nil), tags...))
	}
	if updated != nil {
		u := *updated
		updated = &u
	}
	l.updated = append(l.updated, updated)
	l.pos = append(l.pos, len(l.out))
	l.out = append(l.out, nil)
	if len(l.ends) == summaryBlock {
		l.flush()
	}
}

// flush decodes the pending block.
func (l *summaryList) flush() {
	if len(l.ends) == 0 || l.err != nil {
		return
	}
	s := string(l.raw)
	if len(l.certs) < len(l.ends) {
		l.certs = make([]Certificate, summaryBlock)
	}
	start := 0
	for i, end := range l.ends {
		c := &l.certs[0]
		l.certs = l.certs[1:]
		if err := l.decodeInto(c, s[start:end]); err != nil {
			l.err = fmt.Errorf("%w: %v", ErrCorrupt, err)
			return
		}
		start = end
		if l.tags[i] != nil {
			tags, err := rowTags(c.ID, l.tags[i], nil)
			if err != nil {
				l.err = err
				return
			}
			c.Tags = tags
		}
		if u := l.updated[i]; u != nil {
			c.UpdatedAt = time.Unix(0, *u).UTC()
		}
		l.out[l.pos[i]] = c
	}
	l.raw, l.ends, l.tags, l.updated, l.pos = l.raw[:0], l.ends[:0], l.tags[:0], l.updated[:0], l.pos[:0]
}

// decodeInto decodes summary s into c, its string lists out of l.strs.
func (l *summaryList) decodeInto(c *Certificate, s string) error {
	return decodeSummaryInto(c, s, func(n int) []string {
		if n > len(l.strs) {
			l.strs = make([]string, max(n, 4*summaryBlock))
		}
		list := l.strs[:n:n]
		l.strs = l.strs[n:]
		return list
	})
}

// result decodes what is left and returns every row's certificate, nil
// at the positions of legacy rows, or the first error.
func (l *summaryList) result() ([]*Certificate, error) {
	l.flush()
	if l.err != nil {
		return nil, l.err
	}
	return l.out, nil
}
