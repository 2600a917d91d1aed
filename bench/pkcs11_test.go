//go:build pkcs11

package bench

import (
	"context"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/service/authorities"
	"github.com/certctl/certctl/pkg/timeutil"
)

// softHSM makes a SoftHSM2 token in a temporary directory (SOFTHSM2_CONF
// points at it) and returns the Opener of it.
func softHSM(b *testing.B) *hsm.Opener {
	b.Helper()
	tok := testbin.NewSoftToken(b, "bench")
	b.Setenv("SOFTHSM2_CONF", tok.Conf)
	o := &hsm.Opener{Settings: hsm.Settings{Module: tok.Module, TokenLabel: tok.Label, PINFile: tok.PINFile}}
	b.Cleanup(func() { _ = o.Close() })
	return o
}

// BenchmarkCaIssueKeyStorage is BenchmarkCaIssue (`ca issue`: one durable
// transaction a certificate, audit record included) from a root whose key
// is sealed in the vault beside one whose key is in a SoftHSM2 token, for
// a P-256 and an RSA 2048 CA key: what keeping the key in a token costs.
//
//	CGO_ENABLED=1 go test -tags pkcs11 -run '^$' -bench CaIssueKeyStorage -benchtime 2s ./bench/
func BenchmarkCaIssueKeyStorage(b *testing.B) {
	for _, alg := range []string{"EC_prime256v1", "RSA_2048"} {
		for _, storage := range hsm.Storages {
			b.Run(alg+"/"+storage, func(b *testing.B) {
				v := openVault(b)
				ca := authority.New(v, benchNow, "http://pki.bench.example.test")
				var set authorities.Settings
				if storage == hsm.StoragePKCS11 {
					tok := softHSM(b)
					ca.Tokens = func() (authority.TokenKeys, error) { return tok.Open() }
					set.Token = tok.Open
				}
				core := benchCore(v, ca)
				svc := authorities.New(core, set)
				ctx := context.Background()
				arn, err := svc.Create(ctx, authorities.CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: alg,
					Subject: authority.Subject{CommonName: "Bench " + storage + " CA"}, KeyStorage: storage})
				if err != nil {
					b.Fatal(err)
				}
				req := authorities.IssueRequest{CSR: benchCSR(b), Template: casign.PCAEndEntityClientAuth, Validity: timeutil.Validity{Duration: 12 * time.Hour}}
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := svc.Issue(ctx, arn, req); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
				// CPU time of the process (SoftHSM2 runs in it): the figure
				// to compare on a shared machine, where wall time is noisy.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
