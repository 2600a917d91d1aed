package localstore

import (
	"fmt"
	"slices"
	"time"
	"unsafe"
)

// summaryBlock is how many rows a summaryList decodes and hands out at
// once.
const summaryBlock = 256

// summaryList decodes the rows of a summary list as they are read, a block
// at a time, with a few allocations per block instead of a dozen per row:
// the summaries of a block are copied into one buffer that becomes one
// string (which every decoded string shares), the block's certificates are
// one array reused from block to block, and their string lists come out
// of shared arrays. With reuse, that string is the buffer itself and the
// arrays are reused too, so that a long list read by a caller that keeps
// nothing of a block allocates nothing from block to block. Rows without a summary, or with their tags still in
// the record (written before the migrations that added those columns),
// are decoded whole by the function add was given for them.
type summaryList struct {
	fn func([]*Certificate) error
	// the pending block: raw summaries, where each ends, each row's tags
	// (nil: none), updated_at and, for a row without a usable summary, the
	// function that decodes its record.
	raw     []byte
	ends    []int
	tags    [][]byte
	updated []*int64
	legacy  []func() (*Certificate, error)
	// certs and block are reused from block to block.
	certs []Certificate
	block []*Certificate
	arena summaryArena
	err   error
}

// newSummaryList hands fn the certificates a block at a time; with
// reuse, what they point to is reused too once fn returns
// (see Tx.ScanCertificateSummaries).
func newSummaryList(fn func([]*Certificate) error, reuse bool) *summaryList {
	return &summaryList{fn: fn, arena: summaryArena{reuse: reuse}}
}

// add queues a row's summary, tags and updated_at (slices the caller may
// reuse once add returns), and decodes the block once it is full. A nil
// summary or tags is a row written before those columns: legacy then
// decodes its record, when the block is decoded (the caller's query may
// still be open).
func (l *summaryList) add(summary, tags []byte, updated *int64, legacy func() (*Certificate, error)) {
	if l.err != nil {
		return
	}
	if summary == nil || tags == nil {
		l.addLegacy(legacy)
	} else {
		copy(l.addUnfilled(len(summary)), summary)
		if string(tags) != "[]" { // "[]": none, the usual case
			l.tags[len(l.tags)-1] = append([]byte(nil), tags...)
		}
		if updated != nil {
			u := *updated
			l.updated[len(l.updated)-1] = &u
		}
	}
	if l.full() {
		l.flush()
	}
}

// full reports whether the pending block is full (flush decodes it).
func (l *summaryList) full() bool { return len(l.ends) >= summaryBlock }

// addLegacy queues a row written before the summary or tags column,
// whose record legacy decodes when the block is decoded.
func (l *summaryList) addLegacy(legacy func() (*Certificate, error)) {
	l.legacy = append(l.legacy, legacy)
	l.ends = append(l.ends, len(l.raw))
	l.tags = append(l.tags, nil)
	l.updated = append(l.updated, nil)
}

// addUnfilled queues a row of an n-byte summary, without tags or
// updated_at, and returns where the caller writes the summary, in the
// block's buffer (before the next call).
func (l *summaryList) addUnfilled(n int) []byte {
	start := len(l.raw)
	l.raw = slices.Grow(l.raw, n)[:start+n]
	l.ends = append(l.ends, len(l.raw))
	l.tags = append(l.tags, nil)
	l.updated = append(l.updated, nil)
	l.legacy = append(l.legacy, nil)
	return l.raw[start:]
}

// flush decodes the pending block and hands it to fn.
func (l *summaryList) flush() {
	if len(l.ends) == 0 || l.err != nil {
		return
	}
	var s string
	if l.arena.reuse {
		// The block's strings share l.raw, which the next block's rows
		// overwrite once fn has returned: fn keeps none of them.
		s = unsafe.String(unsafe.SliceData(l.raw), len(l.raw))
		l.arena.reset()
	} else {
		s = string(l.raw)
	}
	if l.certs == nil {
		l.certs = make([]Certificate, summaryBlock)
		l.block = make([]*Certificate, 0, summaryBlock)
	}
	l.block = l.block[:0]
	start := 0
	for i, end := range l.ends {
		if l.legacy[i] != nil {
			c, err := l.legacy[i]()
			if err != nil {
				l.err = err
				return
			}
			l.block = append(l.block, c)
			continue
		}
		c := &l.certs[i]
		*c = Certificate{}
		if err := decodeSummaryInto(c, s[start:end], &l.arena); err != nil {
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
		l.block = append(l.block, c)
	}
	l.raw, l.ends, l.tags, l.updated = l.raw[:0], l.ends[:0], l.tags[:0], l.updated[:0]
	clear(l.legacy)
	l.legacy = l.legacy[:0]
	l.err = l.fn(l.block)
}

// close decodes what is left and returns the first error (of decoding or
// of fn).
func (l *summaryList) close() error {
	l.flush()
	return l.err
}

// collectSummaries is ScanCertificateSummaries made ListCertificateSummaries:
// every certificate copied out of the reused blocks (what they point to
// is kept, not reused).
func collectSummaries(scan func(f CertificateFilter, reuse bool, fn func([]*Certificate) error) error, f CertificateFilter) ([]*Certificate, error) {
	var out []*Certificate
	var all []Certificate
	err := scan(f, false, func(block []*Certificate) error {
		all = make([]Certificate, len(block))
		for i, c := range block {
			all[i] = *c
			out = append(out, &all[i])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
