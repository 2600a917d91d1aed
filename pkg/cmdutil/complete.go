package cmdutil

import (
	"context"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/localstore"
)

// completionStore opens the vault's database for shell completion without
// creating the vault, reading its master key or prompting: completion must
// stay silent and quick, and nothing it does needs a secret.
func (f *Factory) completionStore(ctx context.Context) (localstore.Store, bool) {
	c, err := f.Config()
	if err != nil || (c.Store != "" && c.Store != "sqlite:" && c.Store != "sqlite") {
		return nil, false
	}
	p := filepath.Join(c.Vault, localstore.DatabaseFile)
	if _, err := os.Stat(p); err != nil {
		return nil, false
	}
	st, err := localstore.OpenSQLite(ctx, p)
	if err != nil {
		return nil, false
	}
	return st, true
}

// CompleteCertificates completes certificate IDs (described by their domain
// name) for the first positional argument.
func (f *Factory) CompleteCertificates(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	st, ok := f.completionStore(cmd.Context())
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer st.Close()
	var out []string
	_ = st.View(cmd.Context(), func(tx localstore.Tx) error {
		certs, err := tx.ListCertificates(localstore.CertificateFilter{Limit: 500})
		if err != nil {
			return err
		}
		for _, c := range certs {
			out = append(out, c.ID+"\t"+c.DomainName)
		}
		return nil
	})
	return out, cobra.ShellCompDirectiveNoFileComp
}

// CompleteObjects completes the IDs of generic objects of kind (CAs,
// endpoints), described by describe(data).
func (f *Factory) CompleteObjects(kind string, describe func([]byte) string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		st, ok := f.completionStore(cmd.Context())
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer st.Close()
		var out []string
		_ = st.View(cmd.Context(), func(tx localstore.Tx) error {
			objs, err := tx.ListObjects(kind)
			for _, o := range objs {
				out = append(out, o.ID+"\t"+describe(o.Data))
			}
			return err
		})
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
