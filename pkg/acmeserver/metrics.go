package acmeserver

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// WriteMetrics writes every endpoint's issuance counters in the Prometheus
// text exposition format, under the names of pkg/acme/endpoint that
// `certctl metrics` prints too.
func WriteMetrics(w io.Writer, tx localstore.Tx, n inventory.Names) error {
	all, err := endpoint.AllMetrics(tx)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	family := func(name, help string, value func(endpoint.Metrics) int64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
		for _, m := range all {
			fmt.Fprintf(&b, "%s{%s=\"%s\"} %d\n", name, endpoint.MetricLabel, escapeLabel(n.EndpointARN(m.EndpointID)), value(m.Metrics))
		}
	}
	family(endpoint.MetricIssuanceSuccess, endpoint.MetricIssuanceSuccessHelp, func(m endpoint.Metrics) int64 { return m.CertificateIssuanceSuccess })
	family(endpoint.MetricIssuanceFailed, endpoint.MetricIssuanceFailedHelp, func(m endpoint.Metrics) int64 { return m.CertificateIssuanceFailed })
	_, err = w.Write(b.Bytes())
	return err
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	err := s.cfg.Vault.Store.View(r.Context(), func(tx localstore.Tx) error {
		return WriteMetrics(&b, tx, s.cfg.Names)
	})
	if err != nil {
		s.logf("acme: metrics: %v", err)
		http.Error(w, "metrics unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}
