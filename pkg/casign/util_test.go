package casign

import (
	"crypto/rand"
	"encoding/asn1"
	"io"
	"math/big"
	"strconv"
	"testing"
)

func randReader() io.Reader { return rand.Reader }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// derInt returns the DER content octets of n as an INTEGER.
func derInt(t testing.TB, n *big.Int) []byte {
	t.Helper()
	der, err := asn1.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		t.Fatal(err)
	}
	return raw.Bytes
}
