package vaultops

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/service"
)

// Checks a verification makes, as named in its problems.
const (
	CheckIntegrity    = "DatabaseIntegrity"
	CheckMasterKey    = "MasterKey"
	CheckRecord       = "Record"
	CheckSealedKey    = "SealedKey"
	CheckIssuer       = "Issuer"
	CheckOrphanedKey  = "OrphanedKey"
	CheckAuditChain   = "AuditChain"
	CheckDeployTarget = "DeployTarget"
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
	AcmeRecords            int   `json:"AcmeRecords"`
	DeployRecords          int   `json:"DeployRecords"`
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
// known (for PRIVATE and ISSUED certificates, a CA of the vault whose
// signature verifies; for IMPORTED ones, the chain they were imported with,
// when they have one: see checkLeafIssuer), that no sealed key is left
// belonging to nothing, that the audit chain holds, and that this host's
// deploy targets are as it sealed and recorded them (see
// verifyHostTargets). It returns the report and, when it lists problems, an
// error of exit 6.
func (s *Service) Verify(ctx context.Context) (*VerifyReport, error) {
	v := s.core.Vault
	if v.CreatedNow() {
		// A mistyped --vault (tester: verify made a vault there, and its
		// key, and reported it sound): what opening it made goes again.
		v.DiscardIfEmpty(nil)
		return nil, errs.VaultErrorf("there is no vault in %s: nothing to verify", v.Dir).
			WithHint("check --vault (or CERTCTL_VAULT)")
	}
	rep := &VerifyReport{}
	vf := &verifier{}
	// The integrity check reads the whole database on a connection of its
	// own: it runs beside the rest.
	checked := make(chan error, 1)
	go func() { checked <- v.Store.Check(ctx) }()
	if _, err := v.Sealer(); err != nil {
		<-checked // never leave the check running on a vault the caller closes
		return nil, service.MapError(err)
	}
	// The records are checked under the key their snapshot is sealed
	// under: one another process's rotation committed after that
	// snapshot began is checked again, in a new one (Core.ReadSnapshot).
	err := s.core.ReadSnapshot(ctx, func(tx localstore.Tx, sealer *localstore.Sealer, seen audit.Seen) error {
		*rep, vf.problems = VerifyReport{}, nil
		b, err := localstore.AsBulk(tx)
		if err != nil {
			return err
		}
		if err := s.verifyTx(ctx, b, sealer, seen, rep, vf); err != nil {
			return err
		}
		// Against this machine's copy of the key: not part of verifyTx,
		// which also judges a backup's records.
		published, err := v.PublishedKeyProblems(tx, sealer)
		for _, p := range published {
			vf.add(CheckMasterKey, "", "%s", p)
		}
		if err != nil {
			return err
		}
		// This host's deploy targets, against its own key: likewise not
		// verifyTx's.
		return s.verifyHostTargets(tx, vf)
	})
	for _, p := range v.KeyFileProblems() {
		vf.add(CheckMasterKey, "", "%s", p)
	}
	if err != nil {
		// What could not be read is a problem too: report what was found.
		vf.add(CheckIntegrity, "", "reading the vault: %v", err)
	}
	if err := <-checked; err != nil {
		vf.add(CheckIntegrity, "", "%v", err)
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

// verifyHostTargets checks the seals of this host's deploy targets as
// renew --due and deploy judge them before installing (deploy.Host.Owns):
// a target of this host's record changed in the store (its files or its
// command, by another host of a shared store or by hand) is refused at
// the next pass, and is a problem here, named by its certificate and its
// files, never its command. Other hosts' targets are theirs to judge; a
// vault directory with no host identity yet (nothing deployed from it)
// has none, and none is made.
func (s *Service) verifyHostTargets(tx localstore.Tx, vf *verifier) error {
	host, ok, err := deploy.ExistingHost(s.core.Vault.Dir, s.set.HostName)
	if err != nil {
		if errs.ExitCodeOf(err) == errs.ExitVaultUnavailable {
			vf.add(CheckDeployTarget, "", "%v", err)
			return nil
		}
		return err
	}
	if !ok {
		return nil
	}
	refused, err := host.RefusedTargets(tx)
	for _, r := range refused {
		vf.add(CheckDeployTarget, s.core.Names.CertificateARN(r.CertID), "renew --due refuses this host's deploy target (%s): %s",
			targetFiles(r.Target), r.Why)
	}
	return err
}

// targetFiles names the files of deploy target t as its record in the
// store says them.
func targetFiles(t deploy.Target) string {
	parts := []string{"cert file " + t.CertFile, "key file " + t.KeyFile}
	if t.ChainFile != "" {
		parts = append(parts, "chain file "+t.ChainFile)
	}
	if t.FullchainFile != "" {
		parts = append(parts, "fullchain file "+t.FullchainFile)
	}
	return strings.Join(parts, ", ")
}

// caInfo is a CA of the vault, as issuer lookups need it.
type caInfo struct {
	id   string
	cert *x509.Certificate
}

// scanBatch is how many rows verify hands a worker at a time.
const scanBatch = 500

// keyUse is what a sealed key must match: the public key of its
// certificate (nil when unknown: a CA with neither certificate nor CSR), and
// how problems name its owner.
type keyUse struct {
	resource string
	pub      crypto.PublicKey
	found    bool
}

// parallel runs fn on every row that scan hands over, on one worker per
// CPU, and returns scan's error once every row is done. scan runs on the
// calling goroutine (the transaction's), the workers never touch the
// transaction.
func parallel(scan func(func(rows [][]any) error) error, fn func(row []any)) error {
	work := make(chan [][]any, 2)
	var wg sync.WaitGroup
	for range max(runtime.GOMAXPROCS(0), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rows := range work {
				for _, row := range rows {
					fn(row)
				}
			}
		}()
	}
	err := scan(func(rows [][]any) error {
		work <- rows
		return nil
	})
	close(work)
	wg.Wait()
	return err
}

// verifyTx checks everything but the database's own integrity, in one
// snapshot. Certificate versions and sealed keys are read as raw rows (the
// reading is one goroutine's, the decoding and the cryptography every
// CPU's) in two passes joined by key reference: the first decodes each
// version, checks its certificate and issuer and notes which public key its
// sealed key must match; the second opens each sealed key and compares.
func (s *Service) verifyTx(ctx context.Context, tx localstore.BulkTx, sealer *localstore.Sealer, seen audit.Seen, rep *VerifyReport, vf *verifier) error {
	names := s.core.Names
	keyProblems, err := localstore.CheckKeyRecords(tx, sealer)
	if err != nil {
		return err
	}
	for _, p := range keyProblems {
		vf.add(CheckMasterKey, "", "%s", p)
	}

	var mu sync.Mutex
	uses := map[string]*keyUse{}
	use := func(ref, resource string, pub crypto.PublicKey) {
		mu.Lock()
		defer mu.Unlock()
		if u := uses[ref]; u != nil {
			vf.add(CheckSealedKey, resource, "its sealed key %s is also the key of %s", ref, u.resource)
			return
		}
		uses[ref] = &keyUse{resource: resource, pub: pub}
	}

	// Certificate authorities.
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
			} else {
				pub = cert.PublicKey
			}
		case r.CSRPEM != "":
			blk, _ := pem.Decode([]byte(r.CSRPEM))
			var csr *x509.CertificateRequest
			if blk != nil {
				csr, err = x509.ParseCertificateRequest(blk.Bytes)
			}
			if blk == nil || err != nil {
				vf.add(CheckRecord, arn, "the CA's CSR is unreadable")
			} else {
				pub = csr.PublicKey
			}
		}
		if r.KeyRef != "" {
			use(r.KeyRef, arn, pub)
		}
		if cert != nil {
			checkCAIssuer(vf, arn, r, cert, bySubject)
		}
	}

	// Certificates, read as raw rows: each record must agree with the
	// columns list and search read instead of it.
	var certs []*localstore.Certificate
	unreadable := map[string]bool{}
	err = parallel(func(fn func([][]any) error) error {
		return tx.ScanTable("certificates", scanBatch, fn)
	}, func(row []any) {
		id, _ := row[0].(string)
		c, drift, err := localstore.CertificateFromRow(row)
		if err != nil {
			vf.add(CheckRecord, names.CertificateARN(id), "the certificate record is unreadable: %v", err)
			mu.Lock()
			unreadable[id] = true
			mu.Unlock()
			return
		}
		if len(drift) > 0 {
			vf.add(CheckRecord, names.CertificateARN(id), "its list columns disagree with its record (list and search show the columns, describe the record): %s", strings.Join(drift, "; "))
		}
		mu.Lock()
		certs = append(certs, c)
		mu.Unlock()
	})
	if err != nil {
		return err
	}
	rep.Certificates = len(certs) + len(unreadable)
	byID := make(map[string]*localstore.Certificate, len(certs))
	for _, c := range certs {
		byID[c.ID] = c
		if c.CertificateAuthorityID != "" && !cas[c.CertificateAuthorityID] {
			vf.add(CheckIssuer, names.CertificateARN(c.ID), "its certificate authority %s is not in the vault", names.CAARN(c.CertificateAuthorityID))
		}
	}
	current := make(map[string]bool, len(certs))
	var versions atomic.Int64
	err = parallel(func(fn func([][]any) error) error {
		return tx.ScanTable("cert_versions", scanBatch, fn)
	}, func(row []any) {
		versions.Add(1)
		id, n, data := row[0].(string), int(row[1].(int64)), row[2].([]byte)
		arn := names.CertificateARN(id)
		c := byID[id]
		v := &localstore.CertificateVersion{}
		if err := json.Unmarshal(data, v); err != nil {
			vf.add(CheckRecord, arn, "version %d is unreadable: %v", n, err)
			return
		}
		if c == nil {
			// A version of an unreadable record is not also reported as
			// belonging to no certificate; its key is still accounted for.
			if !unreadable[id] {
				vf.add(CheckRecord, arn, "version %d belongs to no certificate", n)
			}
			if v.KeyRef != "" {
				use(v.KeyRef, fmt.Sprintf("%s (version %d)", arn, n), nil)
			}
			return
		}
		if n == c.Version {
			mu.Lock()
			current[id] = true
			mu.Unlock()
		}
		pub := checkVersion(vf, arn, c, n, v, bySubject)
		switch {
		case v.KeyRef != "":
			use(v.KeyRef, fmt.Sprintf("%s (version %d)", arn, n), pub)
		case c.KeyPairOrigin == inventory.OriginVault || c.KeyPairOrigin == inventory.OriginImported:
			vf.add(CheckSealedKey, arn, "version %d has no sealed key", n)
		}
	})
	if err != nil {
		return err
	}
	rep.CertificateVersions = int(versions.Load())
	for _, c := range certs {
		if c.Version > 0 && !current[c.ID] {
			vf.add(CheckRecord, names.CertificateARN(c.ID), "its current version %d is missing", c.Version)
		}
	}

	// Sealed keys: each opens and matches what uses it; none is left
	// belonging to nothing.
	var opened atomic.Int64
	err = parallel(func(fn func([][]any) error) error {
		return tx.ScanTable("secrets", scanBatch, fn)
	}, func(row []any) {
		ref, sealed := row[0].(string), row[1].([]byte)
		u := uses[ref]
		if u == nil {
			vf.add(CheckOrphanedKey, ref, "a sealed key that belongs to no certificate version or CA")
			return
		}
		u.found = true
		if checkKey(vf, sealer, u.resource, ref, sealed, u.pub) {
			opened.Add(1)
		}
	})
	if err != nil {
		return err
	}
	rep.SealedKeys = int(opened.Load())
	for ref, u := range uses {
		if !u.found {
			vf.add(CheckSealedKey, u.resource, "its sealed key %s is missing", ref)
		}
	}

	// ACME external account binding MAC keys.
	eabs, err := tx.ListObjects(acmestate.KindEAB)
	if err != nil {
		return err
	}
	for _, o := range eabs {
		b := &acmestate.EAB{}
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

	// The other ACME records (endpoints, their domains, accounts, orders,
	// authorizations), read as a server reads them: one that does not read
	// would fail the server's requests on it as corrupt.
	if rep.AcmeRecords, err = acmestate.CheckRecords(tx, func(kind, id, why string) {
		vf.add(CheckRecord, kind+"/"+id, "%s", why)
	}); err != nil {
		return err
	}

	// Deploy targets, as renew --due and deploy read them.
	deploys, err := tx.ListObjects(deploy.ObjectKind)
	if err != nil {
		return err
	}
	for _, o := range deploys {
		rep.DeployRecords++
		if _, err := deploy.DecodeTargets(o); err != nil {
			vf.add(CheckRecord, names.CertificateARN(o.ID), "its deploy targets are unreadable: %v", err)
		}
	}

	// The ACME servers' nonce key, once stored.
	if key, err := acmestate.ReadNonceKey(tx, sealer); err != nil {
		if !errors.Is(err, localstore.ErrCorrupt) {
			return err
		}
		vf.add(CheckSealedKey, "acme nonce key", "the ACME nonce key does not open under the master key")
	} else {
		clear(key)
	}

	// The audit chain.
	n, problem, err := audit.Verify(tx, sealer.AuditKey())
	if err != nil {
		return err
	}
	rep.AuditRecords = n
	if problem == nil {
		// Whole; it must also reach as far as this host saw it.
		v := s.core.Vault
		if problem, err = audit.WitnessOf(v).Check(tx, sealer.AuditKey(), seen); err != nil {
			return err
		}
	}
	if problem != nil {
		vf.add(CheckAuditChain, fmt.Sprintf("audit record %d", problem.Seq), "%s", problem.Error())
	}
	return nil
}

// checkVersion checks one version's certificate and issuer, and returns
// the certificate's public key (which the version's sealed key must
// match), nil when there is no readable certificate.
func checkVersion(vf *verifier, arn string, c *localstore.Certificate, n int, v *localstore.CertificateVersion, bySubject map[string][]caInfo) crypto.PublicKey {
	if len(v.CertificatePEM) == 0 {
		if c.KeyPairOrigin != inventory.OriginACME || v.KeyRef != "" {
			vf.add(CheckRecord, arn, "version %d has no certificate", n)
		}
		return nil
	}
	leaf, err := firstCert(v.CertificatePEM)
	if err != nil {
		vf.add(CheckRecord, arn, "version %d: the certificate is unreadable: %v", n, err)
		return nil
	}
	var chain []*x509.Certificate
	if len(bytes.TrimSpace(v.ChainPEM)) > 0 {
		var err error
		if chain, err = pemio.ParseCertificatesPEM(v.ChainPEM); err != nil {
			// What export and deploy refuse is damage (tester: a chain
			// damaged in the store passed verify, backup and restore);
			// the issuer check goes on with what of it parses.
			vf.add(CheckRecord, arn, "version %d: the chain is unreadable: %v", n, err)
			chain = parseableCerts(v.ChainPEM)
		}
	}
	checkLeafIssuer(vf, arn, n, c.Type, leaf, chain, bySubject)
	if n == c.Version {
		if why := inventory.NamesMismatch(c, leaf); why != "" {
			vf.add(CheckRecord, arn, "%s: one of them was changed outside certctl", why)
		}
	}
	return leaf.PublicKey
}

// checkLeafIssuer checks that a certificate's issuer is known. A PRIVATE or
// ISSUED certificate was signed by a CA of the vault: one must verify its
// signature. An IMPORTED certificate's signature was checked against its
// chain when it was imported; here its issuer must be a certificate of that
// chain (or a CA of the vault) with the issuer's name and, when both carry
// one, its key identifier — one imported without a chain names an issuer
// outside the vault, which is not a problem. A self-signed certificate is
// its own issuer.
func checkLeafIssuer(vf *verifier, arn string, n int, typ string, leaf *x509.Certificate, chain []*x509.Certificate, bySubject map[string][]caInfo) {
	if string(leaf.RawIssuer) == string(leaf.RawSubject) && (typ == inventory.TypeImported || selfSigned(leaf)) {
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
		if len(chain) == 0 && len(candidates) == 0 {
			return
		}
		for _, cand := range candidates {
			if len(leaf.AuthorityKeyId) == 0 || len(cand.SubjectKeyId) == 0 || string(leaf.AuthorityKeyId) == string(cand.SubjectKeyId) {
				return
			}
		}
		vf.add(CheckIssuer, arn, "version %d: its issuer (%s) is not in its chain or the vault", n, leaf.Issuer)
		return
	}
	if len(candidates) == 0 {
		vf.add(CheckIssuer, arn, "version %d: its issuer (%s) is not a CA of the vault", n, leaf.Issuer)
		return
	}
	for _, cand := range candidates {
		if leaf.CheckSignatureFrom(cand) == nil {
			return
		}
	}
	vf.add(CheckIssuer, arn, "version %d: no CA of the vault named %s verifies its signature", n, leaf.Issuer)
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

// parseableCerts are the certificates of the PEM blocks of data that
// parse, the others left out.
func parseableCerts(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for rest := data; len(rest) > 0; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if cc, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, cc)
		}
	}
	return out
}
