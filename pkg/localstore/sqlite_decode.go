package localstore

import (
	"fmt"
	"runtime"
	"sync"
)

// decodeChunk is how many records one decoding job holds.
const decodeChunk = 256

// certChunk is a run of consecutive records of a list: their stored
// parts, then (once a worker is done with it) the decoded certificates.
type certChunk struct {
	rows  []certRow
	certs []*Certificate
	err   error
	done  chan struct{}
}

func (c *certChunk) decode() {
	c.certs = make([]*Certificate, len(c.rows))
	for i, r := range c.rows {
		cert, err := r.decode()
		if err != nil {
			c.err = fmt.Errorf("%w: %v", ErrCorrupt, err)
			break
		}
		c.certs[i] = cert
	}
	c.rows = nil
	close(c.done)
}

// certDecoder decodes the records of a list while the backend is still
// reading rows: decoding the JSON, not reading rows, is most of the cost of
// a large list, and it parallelises. Use: add each row's JSON (a slice the
// caller no longer touches), then result; defer stop for early returns. A list shorter than one chunk is decoded on the
// caller's goroutine, with no worker started.
type certDecoder struct {
	chunks []*certChunk
	cur    *certChunk
	jobs   chan *certChunk
	wg     sync.WaitGroup
}

func newCertDecoder() *certDecoder { return &certDecoder{} }

// add queues the stored parts of the next record (the decoder keeps
// their slices).
func (d *certDecoder) add(r certRow) {
	if d.cur == nil {
		d.cur = &certChunk{rows: make([]certRow, 0, decodeChunk), done: make(chan struct{})}
	}
	d.cur.rows = append(d.cur.rows, r)
	if len(d.cur.rows) == decodeChunk {
		d.submit()
	}
}

func (d *certDecoder) submit() {
	c := d.cur
	d.cur = nil
	d.chunks = append(d.chunks, c)
	if d.jobs == nil {
		jobs := make(chan *certChunk, runtime.GOMAXPROCS(0))
		d.jobs = jobs
		for range runtime.GOMAXPROCS(0) {
			d.wg.Go(func() {
				for c := range jobs {
					c.decode()
				}
			})
		}
	}
	d.jobs <- c
}

// stop ends the workers; it is safe to call more than once and after result.
func (d *certDecoder) stop() {
	if d.jobs != nil {
		close(d.jobs)
		d.jobs = nil
		d.wg.Wait()
	}
}

// result decodes what is left and returns every certificate, in the order
// they were added, or the first decoding error.
func (d *certDecoder) result() ([]*Certificate, error) {
	last := d.cur
	d.cur = nil
	if last != nil {
		d.chunks = append(d.chunks, last)
		last.decode()
	}
	d.stop()
	n := 0
	for _, c := range d.chunks {
		<-c.done
		if c.err != nil {
			return nil, c.err
		}
		n += len(c.certs)
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]*Certificate, 0, n)
	for _, c := range d.chunks {
		out = append(out, c.certs...)
	}
	return out, nil
}
