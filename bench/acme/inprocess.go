package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/certctl/certctl/pkg/acmeserver"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// serveInProcess serves the vault in dir with pkg/acmeserver inside this
// process (as `endpoint serve` does, with the default settings), so that a
// CPU profile of the bench covers the server. It returns the roots to
// trust and a stop function.
func serveInProcess(dir, addr string) (*x509.CertPool, func(), error) {
	ctx := context.Background()
	v, err := localstore.Open(ctx, dir, localstore.Options{})
	if err != nil {
		return nil, nil, err
	}
	svc := authority.New(v, time.Now, "")
	var cert *tls.Certificate
	var bundle []byte
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		if cert, err = acmeserver.ServingCertificate(tx, svc, acmeserver.ServingHosts(addr)); err != nil {
			return err
		}
		bundle, err = svc.TrustBundle(tx)
		return err
	}); err != nil {
		v.Close()
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		v.Close()
		return nil, nil, errors.New("empty trust bundle")
	}
	core := &service.Core{Vault: v, Authority: svc, Names: inventory.Names{Region: "local", Account: "000000000000"},
		Now: time.Now, Actor: service.UserActor()}
	srv := acmeserver.New(acmeserver.Config{Core: core, BaseURL: "https://" + addr, DomainsPerCertificate: 10,
		Limits: acmeserver.Limits{OrdersPerHour: 1000000}})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		v.Close()
		return nil, nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}}
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	return roots, func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		srv.Close()
		v.Close()
	}, nil
}
