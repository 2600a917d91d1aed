package authorities

import (
	"context"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// Issued is a certificate `ca issue` signed, as PEM (AWS Private CA's
// GetCertificate output).
type Issued struct {
	CertificateArn   string `json:"CertificateArn"`
	Certificate      string `json:"Certificate"`
	CertificateChain string `json:"CertificateChain"`
}

// IssueRequest is AWS Private CA's IssueCertificate.
type IssueRequest struct {
	// csr is CSR parsed and its signature checked before the
	// transaction (nil when that failed: the change then parses it again
	// to fail, and the failure is recorded).
	csr *x509.CertificateRequest

	CSR []byte
	// CSRFile names the file CSR was read from, for messages.
	CSRFile string
	// Template is a template name or ARN (casign.CanonicalTemplate).
	Template  string
	Validity  timeutil.Validity
	NotBefore time.Time
	// Passthrough is the ApiPassthrough of
	// BlankEndEntityCertificate_APIPassthrough.
	Passthrough *casign.APIPassthrough
	// SigningAlgorithm is AWS Private CA's name of the algorithm to sign
	// with ("": the CA's own).
	SigningAlgorithm string
}

// parsed is req with its CSR parsed and checked — outside the write
// transaction, where other issuers' work can go on meanwhile.
func (req IssueRequest) parsed() IssueRequest {
	if req.csr == nil {
		req.csr, _ = casign.ParseCSR(req.CSR)
	}
	return req
}

// Issue signs a CSR with a template from the CA named by ref (AWS Private
// CA's IssueCertificate). The certificate is not part of the inventory;
// its serial is reserved in the vault, so the CA can revoke it.
func (s *Service) Issue(ctx context.Context, ref string, req IssueRequest) (*Issued, error) {
	req = req.parsed()
	var out *Issued
	_, err := s.change(ctx, "IssueCertificate", ref, s.issue(req, &out))
	if err != nil {
		return nil, err
	}
	return out, nil
}

// IssueBatch is Issue for many requests to the CA named by ref, in one
// write transaction (one commit) with an IssueCertificate record each; a
// request that fails costs only itself (see service.Core.ChangeBatch).
// out[i] and errs[i] are reqs[i]'s outcome.
func (s *Service) IssueBatch(ctx context.Context, ref string, reqs []IssueRequest) (out []*Issued, errs []error) {
	out = make([]*Issued, len(reqs))
	fns := make([]func(*service.Op) error, len(reqs))
	// The CA is looked up once a transaction: the changes of one batch
	// share it (a retried change runs in a transaction of its own).
	var lastTx localstore.Tx
	var lastCA *authority.Record
	for i, req := range reqs {
		fn := s.issue(req.parsed(), &out[i])
		fns[i] = func(op *service.Op) error {
			if lastCA == nil || op.Tx != lastTx {
				r, err := s.resolve(op, ref)
				if err != nil {
					return err
				}
				lastTx, lastCA = op.Tx, r
			} else {
				op.Resource(s.core.Names.CAARN(lastCA.ID))
			}
			return fn(op, lastCA)
		}
	}
	errs = s.core.ChangeBatch(ctx, "IssueCertificate", fns)
	for i, err := range errs {
		if err != nil {
			out[i] = nil
		}
	}
	return out, errs
}

// issue is the change of one IssueCertificate, its result put in *out.
func (s *Service) issue(req IssueRequest, out **Issued) func(op *service.Op, r *authority.Record) error {
	return func(op *service.Op, r *authority.Record) error {
		op.Param("TemplateArn", req.Template)
		if t, err := casign.CanonicalTemplate(req.Template); err == nil {
			op.Param("TemplateArn", casign.TemplateARN(t))
		}
		op.Param("Validity", req.Validity.String())
		if !req.NotBefore.IsZero() {
			op.Param("ValidityNotBefore", timeutil.RFC3339(req.NotBefore))
		}
		if req.Passthrough != nil {
			op.Param("ApiPassthrough", req.Passthrough)
		}
		if req.SigningAlgorithm != "" {
			op.Param("SigningAlgorithm", req.SigningAlgorithm)
		}
		issued, err := s.core.Authority.IssueCSR(op.Tx, r, authority.CSRParams{CSR: req.CSR, CSRFile: req.CSRFile, Template: req.Template,
			Validity: req.Validity, NotBefore: req.NotBefore, Passthrough: req.Passthrough, SigningAlgorithm: req.SigningAlgorithm,
			Requester: authority.Requester(s.core.Actor), Parsed: req.csr})
		if err != nil {
			return err
		}
		*out = &Issued{
			CertificateArn:   s.CertificateArn(r.ID, issued.Certificate.SerialNumber),
			Certificate:      string(pemio.EncodeCertificatesPEM(issued.Certificate)),
			CertificateChain: string(issued.ChainPEM),
		}
		// What the CA signed, as CloudTrail's IssueCertificate names its
		// certificateArn (tester: the record named the CA alone).
		op.Resource((*out).CertificateArn)
		op.Param("Serial", x509util.FormatSerial(issued.Certificate.SerialNumber))
		op.Param("Subject", x509util.Subject(issued.Certificate))
		return nil
	}
}

// CRL signs a new CRL of the CA named by ref and returns it in DER. Its
// CRL number, above the last one, is stored: the change is recorded as
// CreateCertificateAuthorityCrl (AWS Private CA has no such call; it
// publishes CRLs itself).
//
// partition < 0 is the complete CRL; otherwise the partition of a
// PARTITIONED CA (exit 3 beyond the partitions it has opened).
func (s *Service) CRL(ctx context.Context, ref string, partition int) ([]byte, error) {
	var der []byte
	_, err := s.change(ctx, "CreateCertificateAuthorityCrl", ref, func(op *service.Op, r *authority.Record) error {
		if partition >= 0 {
			op.Param("Partition", partition)
		}
		var err error
		der, err = s.core.Authority.CRLPartition(op.Tx, r, partition)
		return err
	})
	if err != nil {
		return nil, err
	}
	return der, nil
}

// Responder is the CRL and OCSP responder of every CA of the vault
// (`ca serve`): service.Core.Responder.
//
// It checks first that it can answer (service.Core.ServerReady), so that a
// server started over a store that is not there as this host last saw it
// (an emptied audit log: service.Core.Read), or over a vault whose key
// does not open (locked), stops at once (exit 6) instead of serving
// errors.
func (s *Service) Responder(ctx context.Context, logf func(format string, a ...any)) (http.Handler, error) {
	if err := s.core.ServerReady(ctx); err != nil {
		return nil, err
	}
	// /healthz beside the CRLs and OCSP, for a load balancer or a monitor
	// (tester: the responder could only be checked from outside).
	health := s.core.Health("", logf) // logf names ca serve
	resp := s.core.Responder(logf)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			health.ServeHTTP(w, r)
			return
		}
		resp.ServeHTTP(w, r)
	}), nil
}
