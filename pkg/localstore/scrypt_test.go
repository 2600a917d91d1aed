package localstore_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestTamperedScryptParameters rewrites the KDF parameters of a wrapped
// master key to values within the old bounds (N ≤ 2²², r ≤ 64) that would
// make unwrapping allocate a gigabyte or more, or run for minutes. Opening
// must refuse them as corrupt at once, without allocating that memory.
func TestTamperedScryptParameters(t *testing.T) {
	pass := []byte("correct horse")
	for _, tc := range []struct {
		name    string
		n, r, p int
	}{
		{"memory N·r", 1 << 20, 8, 1},   // 1 GiB
		{"memory r", 1 << 17, 64, 1},    // 1 GiB
		{"work N·r·p", 1 << 16, 16, 16}, // 128 MiB but 16 passes
		{"N not a power of two", 3000, 8, 1},
		{"p", 1 << 10, 8, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			v := openVault(t, dir, localstore.Options{Passphrase: pass, Scrypt: cheapScrypt})
			if _, err := v.Sealer(); err != nil {
				t.Fatal(err)
			}
			v.Close()
			path := filepath.Join(dir, localstore.WrappedMasterFile)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var w map[string]any
			if err := json.Unmarshal(raw, &w); err != nil {
				t.Fatal(err)
			}
			w["params"] = map[string]int{"n": tc.n, "r": tc.r, "p": tc.p}
			raw, _ = json.Marshal(w)
			if err := os.WriteFile(path, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			v = openVault(t, dir, localstore.Options{Passphrase: pass, Scrypt: cheapScrypt})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err = v.Sealer()
			runtime.ReadMemStats(&after)
			if !errors.Is(err, localstore.ErrCorrupt) {
				t.Fatalf("Sealer with N=%d r=%d p=%d: %v, want ErrCorrupt", tc.n, tc.r, tc.p, err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("refusing the parameters allocated %d MiB", alloc>>20)
			}
		})
	}
}
