package localstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func encodedCerts(t *testing.T, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		b, err := json.Marshal(&Certificate{ID: fmt.Sprintf("id-%05d", i), DomainName: fmt.Sprintf("h%d.example.test", i), Version: i})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// TestCertDecoderKeepsOrder checks that lists shorter than, equal to and
// longer than a chunk come back complete and in the order added.
func TestCertDecoderKeepsOrder(t *testing.T) {
	for _, n := range []int{0, 1, decodeChunk - 1, decodeChunk, decodeChunk + 1, 5*decodeChunk + 17} {
		d := newCertDecoder()
		for _, b := range encodedCerts(t, n) {
			d.add(certRow{data: b})
		}
		got, err := d.result()
		d.stop()
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if len(got) != n {
			t.Fatalf("n=%d: got %d certificates", n, len(got))
		}
		if n == 0 && got != nil {
			t.Errorf("n=0: got %v, want nil", got)
		}
		for i, c := range got {
			if want := fmt.Sprintf("id-%05d", i); c.ID != want || c.Version != i {
				t.Fatalf("n=%d: certificate %d is %s/%d, want %s/%d", n, i, c.ID, c.Version, want, i)
			}
		}
	}
}

// TestCertDecoderCorrupt checks that a record that is not JSON, in a full
// chunk or in the last one, fails the list as corrupt.
func TestCertDecoderCorrupt(t *testing.T) {
	for _, bad := range []int{3, decodeChunk + 3} {
		blobs := encodedCerts(t, 2*decodeChunk+5)
		blobs[bad] = []byte("{not json")
		d := newCertDecoder()
		for _, b := range blobs {
			d.add(certRow{data: b})
		}
		_, err := d.result()
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("bad record %d: err = %v, want ErrCorrupt", bad, err)
		}
	}
	d := newCertDecoder()
	d.add(certRow{data: []byte("[]")})
	if _, err := d.result(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short list with a bad record: err = %v, want ErrCorrupt", err)
	}
}

// TestCertDecoderStopEarly checks that stopping without a result (a failed
// row scan) ends the workers without blocking: stop returns promptly, every
// chunk handed to a worker was finished, no worker goroutine is left, and a
// second stop does nothing.
func TestCertDecoderStopEarly(t *testing.T) {
	// Records heavy enough that the last chunks are still queued or being
	// decoded when stop is called.
	const chunks = 40
	heavy := make([][]byte, chunks*decodeChunk+7)
	sans := make([]string, 40)
	for i := range sans {
		sans[i] = fmt.Sprintf("san-%02d.some-long-name.example.test", i)
	}
	for i := range heavy {
		b, err := json.Marshal(&Certificate{ID: fmt.Sprintf("id-%05d", i), SubjectAlternativeNames: sans, Version: i})
		if err != nil {
			t.Fatal(err)
		}
		heavy[i] = b
	}
	d := newCertDecoder()
	for _, b := range heavy {
		d.add(certRow{data: b})
	}
	if n := decodeWorkers(); n == 0 {
		t.Fatal("no decoding worker is running before stop")
	}
	if d.jobs == nil || len(d.chunks) != chunks {
		t.Fatalf("%d chunks submitted, workers started %v; want %d and true", len(d.chunks), d.jobs != nil, chunks)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		d.stop()
		d.stop()
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("stop blocked")
	}
	if d.jobs != nil {
		t.Error("stop left the job queue open")
	}
	for i, c := range d.chunks {
		select {
		case <-c.done:
		default:
			t.Errorf("chunk %d was not finished when stop returned", i)
		}
		if c.err != nil || len(c.certs) != decodeChunk {
			t.Errorf("chunk %d: %d certificates, %v", i, len(c.certs), c.err)
		}
	}
	// stop waited for the workers: none is left.
	if n := decodeWorkers(); n != 0 {
		t.Errorf("%d decoding workers left after stop", n)
	}
}

// decodeWorkers counts the goroutines running a certDecoder worker.
func decodeWorkers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "localstore.(*certDecoder).submit.func") {
			count++
		}
	}
	return count
}
