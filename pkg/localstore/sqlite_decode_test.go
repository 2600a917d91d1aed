package localstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
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
			d.add(b)
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
			d.add(b)
		}
		_, err := d.result()
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("bad record %d: err = %v, want ErrCorrupt", bad, err)
		}
	}
	d := newCertDecoder()
	d.add([]byte("[]"))
	if _, err := d.result(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short list with a bad record: err = %v, want ErrCorrupt", err)
	}
}

// TestCertDecoderStopEarly checks that stopping without a result (a failed
// row scan) ends the workers without blocking.
func TestCertDecoderStopEarly(t *testing.T) {
	d := newCertDecoder()
	for _, b := range encodedCerts(t, 3*decodeChunk) {
		d.add(b)
	}
	d.stop()
	d.stop()
}
