package acmeserver

import (
	"bytes"
	"io"
	"net/http"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/promtext"
)

// WriteMetrics writes every endpoint's issuance counters in the Prometheus
// text exposition format, under the names of pkg/acmestate that
// `certctl metrics` prints too.
func WriteMetrics(w io.Writer, tx localstore.Tx, n inventory.Names) error {
	all, err := acmestate.AllMetrics(tx)
	if err != nil {
		return err
	}
	return promtext.WriteText(w, acmestate.MetricFamilies(all, n.EndpointARN))
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	err := s.core.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
		return WriteMetrics(&b, tx, s.core.Names)
	})
	if err != nil {
		s.logf("acme: metrics: %v", err)
		http.Error(w, "metrics unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}
