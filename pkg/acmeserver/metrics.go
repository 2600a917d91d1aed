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
// text exposition format.
func WriteMetrics(w io.Writer, tx localstore.Tx, n inventory.Names) error {
	eps, err := endpoint.List(tx)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	type row struct {
		arn string
		m   endpoint.Metrics
	}
	rows := make([]row, 0, len(eps))
	for _, e := range eps {
		m, err := endpoint.GetMetrics(tx, e.ID)
		if err != nil {
			return err
		}
		rows = append(rows, row{n.EndpointARN(e.ID), m})
	}
	b.WriteString("# HELP certctl_acme_certificate_issuance_success_total Certificates issued by an ACME endpoint.\n")
	b.WriteString("# TYPE certctl_acme_certificate_issuance_success_total counter\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "certctl_acme_certificate_issuance_success_total{arn=\"%s\"} %d\n", escapeLabel(r.arn), r.m.CertificateIssuanceSuccess)
	}
	b.WriteString("# HELP certctl_acme_certificate_issuance_failed_total Finalizations an ACME endpoint refused or failed.\n")
	b.WriteString("# TYPE certctl_acme_certificate_issuance_failed_total counter\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "certctl_acme_certificate_issuance_failed_total{arn=\"%s\"} %d\n", escapeLabel(r.arn), r.m.CertificateIssuanceFailed)
	}
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
