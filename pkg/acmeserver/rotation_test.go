package acmeserver

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/vaultops"
)

// TestNoncesAcrossKeyRotation: after another process rotates the vault's
// master key (vault rotate-key), servers started before it and a server
// started after it accept each other's nonces (the nonce key is the
// store's, not derived from the master key), and the first write of each
// older server — a nonce redemption at one, a new order at the other —
// succeeds under the new key instead of failing once with "the vault's
// master key was rotated by another process". vault verify then finds
// the nonce key opening under the new master key.
func TestNoncesAcrossKeyRotation(t *testing.T) {
	stores(t, func(t *testing.T, storeURL string) {
		c := newCluster(t, storeURL, 2)
		_, acct, key := c.register(t)
		acctURL := acct.URI
		sign := func(url, nonce string, payload []byte) []byte {
			return signES256(t, key, map[string]any{"alg": "ES256", "nonce": nonce, "url": url, "kid": acctURL}, payload)
		}
		before := []string{c.nonceFrom(t, 0), c.nonceFrom(t, 1), c.nonceFrom(t, 0)}

		v := c.open()
		core := &service.Core{Vault: v, Now: time.Now, Names: clusterNames, Authority: authority.New(v, time.Now, ""), Actor: service.UserActor()}
		ops := vaultops.New(core, vaultops.Settings{})
		res, err := ops.RotateKey(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.MasterKeyID == res.PreviousMasterKeyID {
			t.Fatalf("rotation kept the key: %+v", res)
		}
		c.add() // a server started after the rotation

		// Server 0's first write after the rotation: a redemption alone.
		if st, typ := c.post(t, 0, acctURL, sign(acctURL, before[0], nil)); st != http.StatusOK {
			t.Errorf("server 0, its own nonce from before the rotation: %d %q, want 200", st, typ)
		}
		// Server 1's: a new order (the redemption in the change).
		order := []byte(`{"identifiers":[{"type":"dns","value":"r.lab.test"}]}`)
		if st, typ := c.post(t, 1, c.url("/new-order"), sign(c.url("/new-order"), before[1], order)); st != http.StatusCreated {
			t.Errorf("server 1, a new order with its nonce from before the rotation: %d %q, want 201", st, typ)
		}
		// Across the rotation, both ways.
		if st, typ := c.post(t, 2, acctURL, sign(acctURL, before[2], nil)); st != http.StatusOK {
			t.Errorf("the new server, a nonce of server 0 from before the rotation: %d %q, want 200", st, typ)
		}
		for _, p := range [][2]int{{2, 0}, {2, 1}, {0, 2}, {1, 2}} {
			if st, typ := c.post(t, p[1], acctURL, sign(acctURL, c.nonceFrom(t, p[0]), nil)); st != http.StatusOK {
				t.Errorf("a nonce of server %d at server %d: %d %q, want 200", p[0], p[1], st, typ)
			}
		}
		if logs := c.log.String(); strings.Contains(logs, "rotated by another process") || strings.Contains(logs, "status=500") {
			t.Errorf("a request failed over the rotation:\n%s", logs)
		}
		rep, err := ops.Verify(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Problems) != 0 {
			t.Errorf("vault verify: %+v", rep.Problems)
		}
	})
}
