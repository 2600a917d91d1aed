package localstore

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestHookEnvHoldsNoPassword: what a hook is told of the vault names its
// directory and a store other than its own database, never the store's
// password (SPEC: no secret reaches a hook).
func TestHookEnvHoldsNoPassword(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ store, want string }{
		{"", ""},
		{"sqlite:" + filepath.Join(dir, "x.db"), "CERTCTL_STORE=" + filepath.Join(dir, "x.db")},
		{"postgres://certctl:s3cret@db.internal:5432/certctl?sslmode=require", "CERTCTL_STORE=postgres://certctl@db.internal:5432/certctl?sslmode=require"},
		{"postgres://certctl@db.internal/certctl?password=s3cret&sslmode=disable", "CERTCTL_STORE=postgres://certctl@db.internal/certctl?sslmode=disable"},
	} {
		v := &Vault{Dir: dir, opts: Options{StoreURL: tc.store}}
		env := v.HookEnv()
		if env[0] != "CERTCTL_VAULT="+dir || strings.Contains(strings.Join(env, " "), "s3cret") {
			t.Errorf("%q: %q", tc.store, env)
		}
		if tc.want == "" && len(env) != 1 || tc.want != "" && !slices.Contains(env, tc.want) {
			t.Errorf("%q: %q, want %s", tc.store, env, tc.want)
		}
	}
}
