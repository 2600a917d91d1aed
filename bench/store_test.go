package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// BenchmarkServerReadAfterChange is what a long-running process
// (`endpoint serve`) does on every ACME request: a change committed on the
// write pool, then a read of one record on the read pool, which sees the
// log changed since its last read. cpu-µs/op is this process's CPU time a
// pair; the read's share is what the read pool's settings decide (its
// connections map no file: see localstore's OpenSQLite).
func BenchmarkServerReadAfterChange(b *testing.B) {
	ctx := context.Background()
	s, err := localstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), localstore.DatabaseFile))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const records = 200
	data := make([]byte, 1500) // about an ACME order's JSON
	err = s.Update(ctx, func(tx localstore.Tx) error {
		for i := range records {
			if err := tx.PutObject(&localstore.Object{Kind: "bench", ID: fmt.Sprint(i), Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		i++
		if err := s.Update(ctx, func(tx localstore.Tx) error {
			return tx.PutObject(&localstore.Object{Kind: "bench", ID: fmt.Sprint(records + i), Data: data})
		}); err != nil {
			b.Fatal(err)
		}
		if err := s.View(ctx, func(tx localstore.Tx) error {
			_, err := tx.GetObject("bench", fmt.Sprint(i%records))
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
