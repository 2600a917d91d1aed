package casign

import (
	"errors"
	"fmt"
	"io"
	"math/big"
)

// serialBytes is the number of random octets in a serial number (128 bits).
const serialBytes = 16

// MaxSerialOctets is the RFC 5280 upper bound for a serial number's DER
// content octets.
const MaxSerialOctets = 20

// fitsSerialOctets reports whether a positive integer of bitLen bits takes
// at most MaxSerialOctets DER content octets (DER adds a leading zero
// octet when the top bit of the first one is set): serials and CRL
// numbers.
func fitsSerialOctets(bitLen int) bool { return bitLen/8+1 <= MaxSerialOctets }

// NewSerial returns a positive serial number made of 128 bits read from rand.
// Its DER encoding takes at most 17 content octets (16 random octets plus a
// leading zero when the top bit is set), well under RFC 5280's 20-octet limit.
func NewSerial(rand io.Reader) (*big.Int, error) {
	if rand == nil {
		return nil, errors.New("nil random source")
	}
	buf := make([]byte, serialBytes)
	// An all-zero draw (probability 2^-128) would give serial 0, which RFC
	// 5280 forbids; draw again rather than bias the value.
	for range 4 {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("reading random serial: %w", err)
		}
		if n := new(big.Int).SetBytes(buf); n.Sign() > 0 {
			return n, nil
		}
	}
	return nil, errors.New("random source returned only zeros")
}

// checkSerial enforces RFC 5280 section 4.1.2.2: positive, at most 20 octets
// once DER encoded.
func checkSerial(serial *big.Int) error {
	if serial == nil {
		return errors.New("missing serial number")
	}
	if serial.Sign() <= 0 {
		return errors.New("serial number must be positive")
	}
	if !fitsSerialOctets(serial.BitLen()) {
		return errors.New("serial number longer than 20 octets")
	}
	return nil
}
