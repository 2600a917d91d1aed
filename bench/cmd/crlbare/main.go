// Command crlbare is the peer of `certctl ca crl` in bench/run.sh: Go's
// bare x509.CreateRevocationList over the revoked serials of a CA of a
// vault (as seeded by bench/cmd/seed -revoked N), timed in-process.
//
// It reads the entries once (not timed): every revoked serial of the CA
// with its revocation time and reason, from the full serial records. Then
// it signs -runs CRLs of them with x509.CreateRevocationList and prints
// the median time of one call in milliseconds, and the entry count:
//
//	crlbare -vault DIR [-ca default] [-runs 5]   # prints "412.3 100000"
//
// The issuer is the CA's own certificate (its name and AKI in the CRL);
// the signing key is a new key of the CA's key type, since the CA's key is
// sealed in the vault (x509 does not ask that it match the certificate).
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"flag"
	"fmt"
	"math/big"
	"os"
	"slices"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

func main() {
	dir := flag.String("vault", "", "vault `directory`")
	ca := flag.String("ca", "default", "the `CA` (as `certctl ca crl` takes it)")
	region := flag.String("region", "local", "the vault's configured `region` (what a -ca ARN must name)")
	account := flag.String("account", "000000000000", "the vault's configured `account` (what a -ca ARN must name)")
	runs := flag.Int("runs", 5, "time `N` calls")
	flag.Parse()
	if *dir == "" || *runs < 1 {
		fmt.Fprintln(os.Stderr, "crlbare: -vault is required, -runs at least 1")
		os.Exit(2)
	}
	ms, n, err := run(context.Background(), *dir, inventory.Names{Region: *region, Account: *account}, *ca, *runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crlbare:", err)
		os.Exit(1)
	}
	fmt.Printf("%.1f %d\n", ms, n)
}

func run(ctx context.Context, dir string, names inventory.Names, ca string, runs int) (float64, int, error) {
	v, err := localstore.Open(ctx, dir, localstore.Options{})
	if err != nil {
		return 0, 0, err
	}
	defer v.Close()
	var issuer *x509.Certificate
	var entries []x509.RevocationListEntry
	err = v.Store.View(ctx, func(tx localstore.Tx) error {
		r, err := authority.Find(tx, names, ca)
		if err != nil {
			return err
		}
		if issuer, err = r.Certificate(); err != nil {
			return err
		}
		revoked, err := tx.ListRevoked(r.ID)
		if err != nil {
			return err
		}
		entries = make([]x509.RevocationListEntry, len(revoked))
		for i, s := range revoked {
			serial, err := x509util.ParseSerial(s.Serial)
			if err != nil {
				return err
			}
			entries[i] = x509.RevocationListEntry{SerialNumber: serial,
				RevocationTime: s.RevokedAt.UTC().Truncate(time.Second), ReasonCode: s.Reason}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	key, alg, err := keyLike(issuer.PublicKey)
	if err != nil {
		return 0, 0, err
	}
	times := make([]float64, runs)
	for i := range times {
		now := time.Now().UTC().Truncate(time.Second)
		t0 := time.Now()
		_, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			SignatureAlgorithm:        alg,
			RevokedCertificateEntries: entries,
			Number:                    big.NewInt(now.UnixNano()),
			ThisUpdate:                now,
			NextUpdate:                now.Add(authority.CRLValidity),
		}, issuer, key)
		if err != nil {
			return 0, 0, err
		}
		times[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	slices.Sort(times)
	med := times[runs/2]
	if runs%2 == 0 {
		med = (times[runs/2-1] + times[runs/2]) / 2
	}
	return med, len(entries), nil
}

// keyLike makes a key of pub's type and size and picks the signature
// algorithm certctl signs with for it.
func keyLike(pub crypto.PublicKey) (crypto.Signer, x509.SignatureAlgorithm, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		k, err := ecdsa.GenerateKey(p.Curve, rand.Reader)
		alg := x509.ECDSAWithSHA256
		switch p.Curve {
		case elliptic.P384():
			alg = x509.ECDSAWithSHA384
		case elliptic.P521():
			alg = x509.ECDSAWithSHA512
		}
		return k, alg, err
	case *rsa.PublicKey:
		k, err := rsa.GenerateKey(rand.Reader, p.N.BitLen())
		return k, x509.SHA256WithRSA, err
	}
	return nil, 0, fmt.Errorf("unsupported CA key type %T", pub)
}
