package main

import (
	"encoding/pem"
	"math/big"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// big128 is 2^128, the bound of random serial numbers.
func big128() *big.Int { return new(big.Int).Lsh(big.NewInt(1), 128) }
