package vaultops

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// Checks a verification makes, as named in its problems.
const (
	CheckIntegrity   = "DatabaseIntegrity"
	CheckMasterKey   = "MasterKey"
	CheckRecord      = "Record"
	CheckSealedKey   = "SealedKey"
	CheckIssuer      = "Issuer"
	CheckOrphanedKey = "OrphanedKey"
	CheckAuditChain  = "AuditChain"
)

// Problem is one thing vault verify found wrong.
type Problem struct {
	Check    string `json:"Check"`
	Resource string `json:"Resource,omitempty"`
	Message  string `json:"Message"`
}

// VerifyReport is what vault verify checked and found.
type VerifyReport struct {
	Problems []Problem `json:"Problems"`
	// What was checked.
	Certificates           int   `json:"Certificates"`
	CertificateVersions    int   `json:"CertificateVersions"`
	SealedKeys             int   `json:"SealedKeys"`
	CertificateAuthorities int   `json:"CertificateAuthorities"`
	AcmeEabCredentials     int   `json:"AcmeEabCredentials"`
	AuditRecords           int64 `json:"AuditRecords"`
}

// verifier collects problems from many goroutines.
type verifier struct {
	mu       sync.Mutex
	problems []Problem
}

func (v *verifier) add(check, resource, format string, a ...any) {
	v.mu.Lock()
	v.problems = append(v.problems, Problem{Check: check, Resource: resource, Message: fmt.Sprintf(format, a...)})
	v.mu.Unlock()
}

// Verify checks the whole vault: the database's integrity, that every
// sealed key opens under the master key and matches its certificate (CA
// keys their CA certificate or CSR), that every certificate's issuer is
// known (for PRIVATE and ISSUED certificates, a CA of the vault that signed
// it; for IMPORTED ones, the chain they were imported with when they have
// one), that no sealed key is left belonging to nothing, and that the
// audit chain holds. It returns the report and, when it lists problems, an
// error of exit 6.
func (s *Service) Verify(ctx context.Context) (*VerifyReport, error) {
	v := s.core.Vault
	rep := &VerifyReport{}
	vf := &verifier{}
	if err := v.Store.Check(ctx); err != nil {
		vf.add(CheckIntegrity, "", "%v", err)
	}
	sealer, err := v.Sealer()
	if err != nil {
		return nil, service.MapError(err)
	}
	for _, p := range v.KeyFileProblems() {
		vf.add(CheckMasterKey, "", "%s", p)
	}
	err = v.Store.View(ctx, func(tx localstore.Tx) error {
		b, err := localstore.AsBulk(tx)
		if err != nil {
			return err
		}
		return s.verifyTx(ctx, b, sealer, rep, vf)
	})
	if err != nil {
		// What could not be read is a problem too: report what was found.
		vf.add(CheckIntegrity, "", "reading the vault: %v", err)
	}
	sort.SliceStable(vf.problems, func(i, j int) bool {
		a, b := vf.problems[i], vf.problems[j]
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Resource < b.Resource
	})
	rep.Problems = vf.problems
	if rep.Problems == nil {
		rep.Problems = []Problem{}
		return rep, nil
	}
	return rep, &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: fmt.Sprintf("vault verify found %d problem(s)", len(rep.Problems))}
}

// caInfo is a CA of the vault, as issuer lookups need it.
type caInfo struct {
	id   string
	cert *x509.Certificate
}

// pageSize is how many versions verify reads at a time.
const pageSize = 1000

func (s *Service) verifyTx(ctx context.Context, tx localstore.BulkTx, sealer *localstore.Sealer, rep *VerifyReport, vf *verifier) error {
	names := s.core.Names
	keyProblems, err := localstore.CheckKeyRecords(tx, sealer)
	if err != nil {
		return err
	}
	for _, p := range keyProblems {
		vf.add(CheckMasterKey, "", "%s", p)
	}

	// Certificate authorities and their keys.
	referenced := map[string]bool{}
	bySubject := map[string][]caInfo{}
	cas := map[string]bool{}
	objs, err := tx.ListObjects(authority.ObjectKind)
	if err != nil {
		return err
	}
	records := make([]*authority.Record, 0, len(objs))
	for _, o := range objs {
		r := &authority.Record{}
		if err := json.Unmarshal(o.Data, r); err != nil {
			vf.add(CheckRecord, names.CAARN(o.ID), "the CA record is unreadable: %v", err)
			continue
		}
		cas[r.ID] = true
		records = append(records, r)
		if r.CertificatePEM != "" {
			if c, err := firstCert([]byte(r.CertificatePEM)); err == nil {
				bySubject[string(c.RawSubject)] = append(bySubject[string(c.RawSubject)], caInfo{id: r.ID, cert: c})
			}
		}
	}
	rep.CertificateAuthorities = len(records)
	for _, r := range records {
		arn := names.CAARN(r.ID)
		var pub crypto.PublicKey
		var cert *x509.Certificate
		switch {
		case r.CertificatePEM != "":
			if cert, err = firstCert([]byte(r.CertificatePEM)); err != nil {
				vf.add(CheckRecord, arn, "the CA certificate is unreadable: %v", err)
				continue
			}
			pub = cert.PublicKey
		case r.CSRPEM != "":
			blk, _ := pem.Decode([]byte(r.CSRPEM))
			if blk == nil {
				vf.add(CheckRecord, arn, "the CA's CSR is unreadable")
				continue
			}
			csr, err := x509.ParseCertificateRequest(blk.Bytes)
			if err != nil {
				vf.add(CheckRecord, arn, "the CA's CSR is unreadable: %v", err)
				continue
			}
			pub = csr.PublicKey
		}
		if r.KeyRef != "" {
			referenced[r.KeyRef] = true
			secrets, err := tx.GetSecrets([]string{r.KeyRef})
			if err != nil {
				return err
			}
			checkKey(vf, sealer, arn, r.KeyRef, secrets[r.KeyRef], pub)
			rep.SealedKeys++
		}
		if cert != nil {
			checkCAIssuer(vf, arn, r, cert, bySubject)
		}
	}

	// Certificates, their versions and keys, in pages, checked in
	// parallel.
	certs, err := tx.ListCertificates(localstore.CertificateFilter{})
	if err != nil {
		return err
	}
	rep.Certificates = len(certs)
	byID := make(map[string]*localstore.Certificate, len(certs))
	for _, c := range certs {
		byID[c.ID] = c
		if c.CertificateAuthorityID != "" && !cas[c.CertificateAuthorityID] {
			vf.add(CheckIssuer, names.CertificateARN(c.ID), "its certificate authority %s is not in the vault", names.CAARN(c.CertificateAuthorityID))
		}
	}
	seen := make(map[string]int, len(certs)) // current version found
	work := make(chan []versionWork, 2)
	var wg sync.WaitGroup
	var keysOpened sync.Mutex
	opened := 0
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for batch := range work {
				for _, w := range batch {
					n += checkVersion(vf, sealer, names.CertificateARN(w.cert.ID), w, bySubject)
				}
			}
			keysOpened.Lock()
			opened += n
			keysOpened.Unlock()
		}()
	}
	scanErr := func() error {
		defer close(work)
		after, afterN := "", 0
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			page, err := tx.ScanVersions(after, afterN, pageSize)
			if err != nil {
				return err
			}
			var refs []string
			for _, r := range page {
				if r.Version != nil && r.Version.KeyRef != "" {
					refs = append(refs, r.Version.KeyRef)
				}
			}
			secrets, err := tx.GetSecrets(refs)
			if err != nil {
				return err
			}
			batch := make([]versionWork, 0, len(page))
			for _, r := range page {
				rep.CertificateVersions++
				arn := names.CertificateARN(r.CertID)
				c := byID[r.CertID]
				switch {
				case c == nil:
					vf.add(CheckRecord, arn, "version %d belongs to no certificate", r.Number)
					if r.Version != nil && r.Version.KeyRef != "" {
						referenced[r.Version.KeyRef] = true
					}
					continue
				case r.Err != nil:
					vf.add(CheckRecord, arn, "version %d is unreadable: %v", r.Number, r.Err)
					continue
				}
				if r.Number == c.Version {
					seen[c.ID] = r.Number
				}
				w := versionWork{cert: c, number: r.Number, v: r.Version}
				if ref := r.Version.KeyRef; ref != "" {
					referenced[ref] = true
					w.sealed, w.hasSecret = secrets[ref]
				}
				batch = append(batch, w)
			}
			work <- batch
			if len(page) < pageSize {
				return nil
			}
			after, afterN = page[len(page)-1].CertID, page[len(page)-1].Number
		}
	}()
	wg.Wait()
	if scanErr != nil {
		return scanErr
	}
	rep.SealedKeys += opened
	for _, c := range certs {
		if c.Version > 0 && seen[c.ID] != c.Version {
			vf.add(CheckRecord, names.CertificateARN(c.ID), "its current version %d is missing", c.Version)
		}
	}

	// Sealed keys that belong to nothing.
	after := ""
	for {
		page, err := tx.ScanSecrets(after, pageSize)
		if err != nil {
			return err
		}
		for _, sec := range page {
			if !referenced[sec.Ref] {
				vf.add(CheckOrphanedKey, sec.Ref, "a sealed key that belongs to no certificate version or CA")
			}
		}
		if len(page) < pageSize {
			break
		}
		after = page[len(page)-1].Ref
	}

	// ACME external account binding MAC keys.
	eabs, err := tx.ListObjects(endpoint.KindEAB)
	if err != nil {
		return err
	}
	for _, o := range eabs {
		b := &endpoint.EAB{}
		if err := json.Unmarshal(o.Data, b); err != nil {
			vf.add(CheckRecord, "eab/"+o.ID, "the credential is unreadable: %v", err)
			continue
		}
		rep.AcmeEabCredentials++
		if key, err := b.MACKey(sealer); err != nil {
			vf.add(CheckSealedKey, names.EndpointARN(b.EndpointID)+" eab/"+b.KeyID, "the EAB MAC key does not open under the master key")
		} else {
			clear(key)
		}
	}

	// The audit chain.
	n, problem, err := audit.Verify(tx, sealer.AuditKey())
	if err != nil {
		return err
	}
	rep.AuditRecords = n
	if problem != nil {
		vf.add(CheckAuditChain, fmt.Sprintf("audit record %d", problem.Seq), "%s", problem.Error())
	}
	return nil
}

// versionWork is one version to check.
type versionWork struct {
	cert      *localstore.Certificate
	number    int
	v         *localstore.CertificateVersion
	sealed    []byte
	hasSecret bool
}

// checkVersion checks one version's certificate, key and issuer; it
// returns how many keys it opened.
func checkVersion(vf *verifier, sealer *localstore.Sealer, arn string, w versionWork, bySubject map[string][]caInfo) int {
	c := w.cert
	if len(w.v.CertificatePEM) == 0 {
		if c.KeyPairOrigin != inventory.OriginACME || w.v.KeyRef != "" {
			vf.add(CheckRecord, arn, "version %d has no certificate", w.number)
		}
		return 0
	}
	leaf, err := firstCert(w.v.CertificatePEM)
	if err != nil {
		vf.add(CheckRecord, arn, "version %d: the certificate is unreadable: %v", w.number, err)
		return 0
	}
	opened := 0
	switch {
	case w.v.KeyRef != "":
		if !w.hasSecret {
			vf.add(CheckSealedKey, arn, "version %d: its sealed key %s is missing", w.number, w.v.KeyRef)
		} else if checkKey(vf, sealer, fmt.Sprintf("%s (version %d)", arn, w.number), w.v.KeyRef, w.sealed, leaf.PublicKey) {
			opened = 1
		}
	case c.KeyPairOrigin == inventory.OriginVault || c.KeyPairOrigin == inventory.OriginImported:
		vf.add(CheckSealedKey, arn, "version %d has no sealed key", w.number)
	}
	var chain []*x509.Certificate
	if len(w.v.ChainPEM) > 0 {
		for rest := w.v.ChainPEM; ; {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			if cc, err := x509.ParseCertificate(blk.Bytes); err == nil {
				chain = append(chain, cc)
			}
		}
	}
	checkLeafIssuer(vf, arn, w.number, c.Type, leaf, chain, bySubject)
	return opened
}

// checkLeafIssuer checks that a certificate's issuer is known and signed
// it: for PRIVATE and ISSUED certificates a CA of the vault; for IMPORTED
// ones a CA of the vault or a certificate of their chain — one imported
// without a chain names an issuer outside the vault, which is not a
// problem. A self-signed certificate is its own issuer.
func checkLeafIssuer(vf *verifier, arn string, n int, typ string, leaf *x509.Certificate, chain []*x509.Certificate, bySubject map[string][]caInfo) {
	if selfSigned(leaf) {
		return
	}
	var candidates []*x509.Certificate
	for _, ca := range bySubject[string(leaf.RawIssuer)] {
		candidates = append(candidates, ca.cert)
	}
	if typ == inventory.TypeImported {
		for _, cc := range chain {
			if string(cc.RawSubject) == string(leaf.RawIssuer) {
				candidates = append(candidates, cc)
			}
		}
		if len(candidates) == 0 && len(chain) == 0 {
			return
		}
	}
	if len(candidates) == 0 {
		where := "in the vault"
		if typ == inventory.TypeImported {
			where = "in the vault or its chain"
		}
		vf.add(CheckIssuer, arn, "version %d: its issuer (%s) is not %s", n, leaf.Issuer, where)
		return
	}
	for _, cand := range candidates {
		if leaf.CheckSignatureFrom(cand) == nil {
			return
		}
	}
	vf.add(CheckIssuer, arn, "version %d: no certificate of its issuer (%s) verifies its signature", n, leaf.Issuer)
}

// checkCAIssuer checks a CA certificate's issuer: itself for a root, its
// parent in the vault, or its chain (a subordinate signed outside).
func checkCAIssuer(vf *verifier, arn string, r *authority.Record, cert *x509.Certificate, bySubject map[string][]caInfo) {
	if r.Type == authority.TypeRoot {
		if !selfSigned(cert) {
			vf.add(CheckIssuer, arn, "the root CA certificate is not self-signed")
		}
		return
	}
	var chain []*x509.Certificate
	if r.ChainPEM != "" {
		for rest := []byte(r.ChainPEM); ; {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			if cc, err := x509.ParseCertificate(blk.Bytes); err == nil {
				chain = append(chain, cc)
			}
		}
	}
	var candidates []*x509.Certificate
	for _, ca := range bySubject[string(cert.RawIssuer)] {
		if ca.id != r.ID {
			candidates = append(candidates, ca.cert)
		}
	}
	for _, cc := range chain {
		if string(cc.RawSubject) == string(cert.RawIssuer) {
			candidates = append(candidates, cc)
		}
	}
	for _, cand := range candidates {
		if cert.CheckSignatureFrom(cand) == nil {
			return
		}
	}
	vf.add(CheckIssuer, arn, "no known certificate of its issuer (%s) verifies the CA certificate", cert.Issuer)
}

// checkKey opens a sealed key and compares it with pub (when known); it
// reports whether the key opened and matched.
func checkKey(vf *verifier, sealer *localstore.Sealer, resource, ref string, sealed []byte, pub crypto.PublicKey) bool {
	if sealed == nil {
		vf.add(CheckSealedKey, resource, "its sealed key %s is missing", ref)
		return false
	}
	der, err := sealer.Open(ref, sealed)
	if err != nil {
		vf.add(CheckSealedKey, resource, "its sealed key %s does not open under the master key", ref)
		return false
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		vf.add(CheckSealedKey, resource, "its sealed key %s is not a private key", ref)
		return false
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		vf.add(CheckSealedKey, resource, "its sealed key %s is not a signing key", ref)
		return false
	}
	if pub == nil {
		return true
	}
	eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(pub) {
		vf.add(CheckSealedKey, resource, "its sealed key %s does not match its certificate", ref)
		return false
	}
	return true
}

// selfSigned reports whether c is signed by its own key under its own name.
func selfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// firstCert parses the first PEM certificate of data.
func firstCert(data []byte) (*x509.Certificate, error) {
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, errors.New("no PEM certificate")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}
