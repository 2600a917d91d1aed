package cmdutil

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	sq "github.com/certctl/certctl/pkg/search"
)

// completionWait bounds what completion waits for a shared store: a
// server that is slow or gone must not hang the shell at <TAB>.
const completionWait = 3 * time.Second

// completionView runs fn in a read transaction of the vault's store for
// shell completion, and reports whether it could: the vault's own
// database, a sqlite:PATH store or a shared PostgreSQL store (tester:
// nothing was completed on one), opened without creating the vault,
// migrating a schema, reading the master key or prompting — completion
// must stay silent and quick, and nothing it reads needs a secret.
func (f *Factory) completionView(ctx context.Context, fn func(localstore.Tx) error) bool {
	c, err := f.Config()
	if err != nil {
		return false
	}
	var st localstore.Store
	switch u := c.Store; {
	case localstore.IsPostgresURL(u):
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, completionWait)
		defer cancel()
		if st, err = localstore.OpenPostgresCurrent(ctx, u); err != nil {
			return false
		}
	default:
		p, ok := strings.CutPrefix(u, "sqlite:")
		switch {
		case u == "" || u == "sqlite" || (ok && p == ""):
			if c.Vault == "" {
				return false // no vault
			}
			p = filepath.Join(c.Vault, localstore.DatabaseFile)
		case !ok:
			return false // no store this build opens
		}
		if st, err = localstore.OpenSQLiteCurrent(ctx, p); err != nil {
			return false
		}
	}
	defer st.Close()
	_ = st.View(ctx, fn)
	return true
}

// CompleteCertificates completes certificate IDs (described by their domain
// name) for the first positional argument.
func (f *Factory) CompleteCertificates(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return f.CompleteCertificatesWhere(CertificateChoice{})(cmd, args, toComplete)
}

// CompleteCertificatesWhere is CompleteCertificates offering only the
// certificates of the stored statuses and types of c (none: any) — those
// the command can act on, such as IMPORTED ones for reimport. It is a
// hint, not a rule: the command's service still decides.
func (f *Factory) CompleteCertificatesWhere(c CertificateChoice) cobra.CompletionFunc {
	return f.completeIDs(func(tx localstore.Tx, typed string) ([]candidate, error) {
		return certificateCandidates(tx, typed, c)
	})
}

// CertificateChoice says which certificates a completion offers: those
// in one of Statuses, of one of Types and of one of Origins (each empty:
// any).
type CertificateChoice struct{ Statuses, Types, Origins []string }

// maxCompletions bounds the certificates (and tag keys) offered.
const maxCompletions = 500

// certificateCandidates are at most maxCompletions certificates of c
// whose ID begins with the ID typed (typedID): the store is asked for
// both, so that every certificate of a vault of any size can be completed
// — the first 500 of the vault, left to the shell to match, hid the
// others, and a command's filter applied after them (revoke's,
// reimport's) left nothing to offer (testers).
func certificateCandidates(tx localstore.Tx, typed string, c CertificateChoice) ([]candidate, error) {
	certs, err := tx.ListCertificates(localstore.CertificateFilter{IDPrefix: typedID(typed),
		Statuses: c.Statuses, Types: c.Types, Origins: c.Origins, Limit: maxCompletions})
	var out []candidate
	for _, c := range certs {
		out = append(out, candidate{arn.Certificate, c.ID, c.DomainName})
	}
	return out, err
}

// typedID is the part of a typed identifier that an ID begins with: what
// follows an ARN's last "/", or the whole of what is typed, in lower case
// (IDs are); "" for an ARN typed short of its "/".
func typedID(typed string) string {
	typed = strings.ToLower(typed)
	if strings.HasPrefix(typed, "arn:") {
		slash := strings.LastIndexByte(typed, '/')
		if slash < 0 {
			return ""
		}
		return typed[slash+1:]
	}
	return typed
}

// CompleteTagged completes the identifier of a resource with tags (tags
// add|list|remove): the certificates, described by their domain name, then
// the CAs and the ACME endpoints, described by kind and name.
func (f *Factory) CompleteTagged(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return f.completeIDs(func(tx localstore.Tx, typed string) ([]candidate, error) {
		out, err := certificateCandidates(tx, typed, CertificateChoice{})
		if err != nil {
			return nil, err
		}
		cas, err := tx.ListObjects(authority.ObjectKind)
		if err != nil {
			return out, err
		}
		for _, o := range cas {
			label := ""
			if r, err := authority.Decode(o.Data); err == nil {
				label = caLabel(r)
			}
			out = append(out, candidate{arn.CertificateAuthority, o.ID, "CA " + label})
		}
		eps, err := tx.ListObjects(acmestate.KindEndpoint)
		if err != nil {
			return out, err
		}
		for _, o := range eps {
			out = append(out, candidate{arn.AcmeEndpoint, o.ID, "ACME endpoint " + endpointLabel(o.Data)})
		}
		return out, nil
	})(cmd, args, toComplete)
}

// candidate is one completion read from the vault: the ID of a resource
// of ARN kind kind ("" for a value that names no resource, such as
// default), and its description.
type candidate struct{ kind, id, desc string }

// completeIDs completes a command's one identifier argument with what
// list reads from the vault (none once the argument is given), never a
// file name.
func (f *Factory) completeIDs(list lister) cobra.CompletionFunc {
	values := f.completeValues(list)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return values(cmd, args, toComplete)
	}
}

// lister reads the candidates of a completion from the vault, given what
// was typed (which a long list narrows in the store).
type lister func(tx localstore.Tx, typed string) ([]candidate, error)

// completeValues completes with what list reads from the vault, never a
// file name.
func (f *Factory) completeValues(list lister) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var cands []candidate
		if !f.completionView(cmd.Context(), func(tx localstore.Tx) (err error) {
			cands, err = list(tx, toComplete)
			return err
		}) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names inventory.Names
		if c, err := f.Config(); err == nil {
			names = inventory.Names{Region: c.Region, Account: c.Account}
		}
		return sanitizeCompletions(completions(cands, toComplete, names)), cobra.ShellCompDirectiveNoFileComp
	}
}

// completions are the candidates as the shell is given them ("VALUE\tDESCRIPTION"):
// their IDs, or — once what is typed begins with "arn:" — their ARNs,
// which the shell keeps as they begin with what was typed (newcomer
// tester: a pasted ARN completed to nothing; tester: `arn:<TAB>` offered
// nothing). An ARN typed up to its "/" keeps what was typed before it
// (another region or account than names, say) and is completed only
// with IDs of the kind it names (tester: after certificate-authority/
// certificates were offered). A value that names no resource (default)
// is no ARN, and is left out then.
func completions(cands []candidate, toComplete string, names inventory.Names) []string {
	out := make([]string, 0, len(cands))
	typed := strings.ToLower(toComplete)
	slash := strings.LastIndexByte(toComplete, '/')
	for _, c := range cands {
		v := c.id
		switch {
		case !strings.HasPrefix(typed, "arn:"):
		case c.kind == "":
			continue
		case slash >= 0:
			base := toComplete[:slash+1]
			colon := strings.LastIndexByte(base, ':')
			if colon < 0 || !strings.EqualFold(base[colon+1:slash], c.kind) {
				continue
			}
			v = base + c.id
		default:
			v = arn.Format(c.kind, names.Region, names.Account, c.id)
		}
		if c.desc != "" {
			v += "\t" + c.desc
		}
		out = append(out, v)
	}
	return out
}

// sanitizeCompletions makes completions ("VALUE" or "VALUE\tDESCRIPTION")
// built from the vault's records safe to show: a name may hold anything,
// and the shell prints a description as it is — an escape sequence in an
// imported certificate's name would rewrite the terminal, a tab or a line
// feed would make candidates of its own. Control characters are shown
// escaped, as every other output shows them (output.Sanitize).
func sanitizeCompletions(out []string) []string {
	for i, c := range out {
		if v, desc, ok := strings.Cut(c, "\t"); ok {
			out[i] = output.Sanitize(v) + "\t" + output.Sanitize(desc)
		} else {
			out[i] = output.Sanitize(c)
		}
	}
	return out
}

// CompleteTagKeys completes a tag flag (list --tag) with the tag keys of
// the vault's certificates, as KEY= (no space follows: the value does),
// never a file name.
func (f *Factory) CompleteTagKeys(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	const directive = cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	seen := map[string]bool{}
	var out []string
	// Every certificate's tags, not the first 500 certificates' (review:
	// a key used only after them was never offered); at most
	// maxCompletions keys.
	f.completionView(cmd.Context(), func(tx localstore.Tx) error {
		return tx.EachCertificateTags(func(_ string, tags []localstore.Tag) error {
			for _, t := range tags {
				if !seen[t.Key] && len(out) < maxCompletions {
					seen[t.Key] = true
					out = append(out, t.Key+"=")
				}
			}
			return nil
		})
	})
	sort.Strings(out)
	return sanitizeCompletions(out), directive
}

// CAChoice says which CAs a CA completion offers: those keep accepts
// (every CA when nil), and the word default when Default is set.
type CAChoice struct {
	Keep    CAFilter
	Default bool
}

// CAFilter keeps the CAs a completion offers, read in tx.
type CAFilter func(tx localstore.Tx, r *authority.Record) bool

// CAs that a command can act on, for CAChoice.Keep.
var (
	// CAInStatus keeps the CAs in one of statuses.
	CAInStatus = func(statuses ...string) CAFilter {
		return func(_ localstore.Tx, r *authority.Record) bool { return slices.Contains(statuses, r.Status) }
	}
	// CANotDeleted keeps the CAs not DELETED.
	CANotDeleted CAFilter = func(_ localstore.Tx, r *authority.Record) bool { return r.Status != authority.StatusDeleted }
	// CAPrivateIssuer keeps the ACTIVE CAs that sign PRIVATE
	// certificates, by the rule issuance applies
	// (authority.CheckPrivateIssuer: none under the public-style
	// hierarchy, its subordinates included).
	CAPrivateIssuer CAFilter = func(tx localstore.Tx, r *authority.Record) bool {
		return r.Status == authority.StatusActive && authority.CheckPrivateIssuer(tx, r) == nil
	}
)

// CompleteCA completes a CA's identifier as the command's positional
// argument, described as "CN (STATUS)", offering those of c.
func (f *Factory) CompleteCA(c CAChoice) cobra.CompletionFunc {
	return f.completeIDs(f.listCAs(c))
}

// CompleteCAFlag is CompleteCA for a flag's value, offered whatever the
// positional arguments given.
func (f *Factory) CompleteCAFlag(c CAChoice) cobra.CompletionFunc {
	return f.completeValues(f.listCAs(c))
}

// listCAs lists the CAs of c as completions.
func (f *Factory) listCAs(c CAChoice) lister {
	return func(tx localstore.Tx, _ string) ([]candidate, error) {
		var out []candidate
		if c.Default {
			out = append(out, candidate{"", "default", "the vault's default private CA"})
		}
		objs, err := tx.ListObjects(authority.ObjectKind)
		for _, o := range objs {
			r, derr := authority.Decode(o.Data)
			if derr != nil {
				continue
			}
			if c.Keep == nil || c.Keep(tx, r) {
				out = append(out, candidate{arn.CertificateAuthority, o.ID, caLabel(r)})
			}
		}
		return out, err
	}
}

// CompleteEndpoint completes an ACME endpoint's identifier, described as
// "NAME (STATUS)".
func (f *Factory) CompleteEndpoint() cobra.CompletionFunc {
	return f.CompleteObjects(acmestate.KindEndpoint, arn.AcmeEndpoint, func(data []byte) (string, bool) {
		return endpointLabel(data), true
	})
}

// caLabel describes a CA for completion: "CN (STATUS)".
func caLabel(r *authority.Record) string {
	return r.Subject.CommonName + " (" + r.Status + ")"
}

// endpointLabel describes an ACME endpoint record for completion:
// "NAME (STATUS)", or its status alone when it has no name.
func endpointLabel(data []byte) string {
	var e acmestate.Endpoint
	if err := json.Unmarshal(data, &e); err != nil {
		return ""
	}
	if e.Name != "" {
		return e.Name + " (" + e.Status + ")"
	}
	return e.Status
}

// CompleteObjects completes the IDs of generic objects of kind (CAs,
// endpoints), resources of ARN kind arnKind ("": none), described by
// describe(data); when describe reports false the object is not offered
// (one the command cannot act on).
func (f *Factory) CompleteObjects(kind, arnKind string, describe func([]byte) (string, bool)) cobra.CompletionFunc {
	return f.completeIDs(func(tx localstore.Tx, _ string) ([]candidate, error) {
		objs, err := tx.ListObjects(kind)
		var out []candidate
		for _, o := range objs {
			if label, ok := describe(o.Data); ok {
				out = append(out, candidate{arnKind, o.ID, label})
			}
		}
		return out, err
	})
}

// CompleteTerseQuery completes a terse search query (search's QUERY
// argument, the bulk commands' --query-terse): the KEY: of its last term
// (the query is one word, its terms separated by spaces), or an enumerated
// term's values once its KEY: is typed; never a file name. As a flag's
// completion it is asked with the command's arguments, which it ignores.
func CompleteTerseQuery(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 && cmd.Flags().Lookup("query-terse") == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp // search's QUERY is one argument
	}
	head := toComplete[:strings.LastIndexByte(toComplete, ' ')+1]
	last := strings.TrimPrefix(toComplete[len(head):], "!")
	neg := strings.TrimSuffix(toComplete[len(head):], last)
	if key, _, ok := strings.Cut(last, ":"); ok {
		// An enumerated term's values (tester: status: completed
		// nothing).
		var out []string
		for _, v := range sq.TerseValues(key) {
			out = append(out, head+neg+key+":"+v)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, k := range sq.TerseKeys() {
		out = append(out, head+neg+k+":")
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// CompleteFileURL completes a flag that takes JSON or file://F (fileb://F):
// "file://" first, then the files and directories of the path typed
// after it, each with that prefix — a plain file name would be read as
// JSON (tester: some such flags offered file names, some nothing).
func CompleteFileURL(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	const directive = cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	scheme := ""
	for _, p := range []string{"file://", "fileb://"} {
		if strings.HasPrefix(toComplete, p) {
			scheme = p
		}
	}
	if scheme == "" {
		return []string{"file://"}, directive
	}
	typed := strings.TrimPrefix(toComplete, scheme)
	dir, base := filepath.Split(typed)
	read := dir
	if read == "" {
		read = "."
	}
	ents, err := os.ReadDir(read) // an absolute path as it is (review: it was made relative)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, base) || strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		if e.IsDir() {
			name += "/"
		}
		out = append(out, scheme+dir+name)
	}
	if len(out) == 1 && !strings.HasSuffix(out[0], "/") {
		return out, cobra.ShellCompDirectiveNoFileComp // a file: done
	}
	return out, directive
}

// completeEndpointItem completes the two arguments of an endpoint's
// command: the endpoint, then one of its items, which list reads (tester:
// the second offered nothing).
func (f *Factory) completeEndpointItem(list func(tx localstore.Tx, ep *acmestate.Endpoint, now time.Time) []candidate) cobra.CompletionFunc {
	first := f.CompleteEndpoint()
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) != 1 {
			return first(cmd, args, toComplete)
		}
		var names inventory.Names
		if c, err := f.Config(); err == nil {
			names = inventory.Names{Region: c.Region, Account: c.Account}
		}
		return f.completeValues(func(tx localstore.Tx, _ string) ([]candidate, error) {
			ep, err := acmestate.Resolve(tx, names, args[0])
			if err != nil {
				return nil, nil // no such endpoint: nothing to offer
			}
			return list(tx, ep, f.Now()), nil
		})(cmd, args, toComplete)
	}
}

// CompleteEndpointEAB completes an endpoint, then the key ID of one of its
// credentials that can still be revoked.
func (f *Factory) CompleteEndpointEAB() cobra.CompletionFunc {
	return f.completeEndpointItem(func(tx localstore.Tx, ep *acmestate.Endpoint, now time.Time) []candidate {
		all, _ := acmestate.ListEAB(tx, ep.ID)
		var out []candidate
		for _, b := range all {
			if st := b.Status(now); st != acmestate.EABRevoked {
				out = append(out, candidate{"", b.KeyID, st})
			}
		}
		return out
	})
}

// CompleteEndpointAccount completes an endpoint, then one of its accounts
// that can still be deactivated.
func (f *Factory) CompleteEndpointAccount() cobra.CompletionFunc {
	return f.completeEndpointItem(func(tx localstore.Tx, ep *acmestate.Endpoint, _ time.Time) []candidate {
		all, _ := acmestate.ListAccounts(tx, ep.ID)
		var out []candidate
		for _, a := range all {
			if a.Status == acmestate.AcmeValid {
				out = append(out, candidate{"", a.ID, strings.Join(a.Contact, " ")})
			}
		}
		return out
	})
}

// CompleteEndpointDomain completes an endpoint, then one of its domains.
func (f *Factory) CompleteEndpointDomain() cobra.CompletionFunc {
	return f.completeEndpointItem(func(tx localstore.Tx, ep *acmestate.Endpoint, _ time.Time) []candidate {
		all, _ := acmestate.ListDomains(tx, ep.ID)
		out := make([]candidate, 0, len(all))
		for _, d := range all {
			out = append(out, candidate{"", d.DomainName, d.Status})
		}
		return out
	})
}

// CompleteCASerial completes --serial of a CA's issued certificate (ca
// get-certificate, ca revoke-certificate): the serials the CA named by the
// positional argument issued, newest first, described by their subjects;
// live leaves only those not revoked (a revocation's candidates).
func (f *Factory) CompleteCASerial(live bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) != 1 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names inventory.Names
		if c, err := f.Config(); err == nil {
			names = inventory.Names{Region: c.Region, Account: c.Account}
		}
		typed := strings.ToLower(toComplete)
		return f.completeValues(func(tx localstore.Tx, _ string) ([]candidate, error) {
			r, err := authority.Find(tx, names, args[0])
			if err != nil {
				return nil, nil // no such CA: nothing to offer
			}
			all, err := tx.ListIssued(r.ID)
			if err != nil {
				return nil, err
			}
			var out []candidate
			for i := len(all) - 1; i >= 0 && len(out) < maxSerialCompletions; i-- {
				s := all[i]
				if live && !s.RevokedAt.IsZero() || !strings.HasPrefix(s.Serial, typed) {
					continue
				}
				out = append(out, candidate{"", s.Serial, s.Subject})
			}
			return out, nil
		})(cmd, args, toComplete)
	}
}

// maxSerialCompletions bounds the serials offered: a shell shows no more
// usefully, and a CA may have issued millions.
const maxSerialCompletions = 200

// CompleteResources completes an ARN or UUID of any resource (audit
// --resource): certificates, CAs and ACME endpoints.
func (f *Factory) CompleteResources(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cas := f.listCAs(CAChoice{})
	return f.completeValues(func(tx localstore.Tx, typed string) ([]candidate, error) {
		out, err := certificateCandidates(tx, typed, CertificateChoice{})
		if err != nil {
			return nil, err
		}
		more, err := cas(tx, typed)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
		eps, err := tx.ListObjects(acmestate.KindEndpoint)
		for _, o := range eps {
			out = append(out, candidate{arn.AcmeEndpoint, o.ID, endpointLabel(o.Data)})
		}
		return out, err
	})(cmd, args, toComplete)
}

// CompleteDeployHost completes deploy --host: the hosts that recorded a
// target of the certificate the positional argument names (their names;
// an ID's first 8 characters where two share a name), any certificate's
// before it is given.
func (f *Factory) CompleteDeployHost(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var names inventory.Names
	if c, err := f.Config(); err == nil {
		names = inventory.Names{Region: c.Region, Account: c.Account}
	}
	return f.completeValues(func(tx localstore.Tx, _ string) ([]candidate, error) {
		all, err := deploy.AllTargets(tx)
		if err != nil {
			return nil, err
		}
		only := ""
		if len(args) == 1 {
			if only, err = inventory.ResolveCertificate(tx, names, args[0], inventory.Exporting); err != nil {
				return nil, nil // no such certificate: nothing to offer
			}
		}
		ids := map[string][]string{} // host name → IDs
		for certID, ts := range all {
			if only != "" && certID != only {
				continue
			}
			for _, t := range ts {
				if t.HostID != "" && !slices.Contains(ids[t.Host], t.HostID) {
					ids[t.Host] = append(ids[t.Host], t.HostID)
				}
			}
		}
		var out []candidate
		for name, hostIDs := range ids {
			if len(hostIDs) == 1 && name != "" {
				out = append(out, candidate{"", name, hostIDs[0]})
				continue
			}
			for _, id := range hostIDs {
				out = append(out, candidate{"", id[:min(8, len(id))], name})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
		return out, nil
	})(cmd, args, toComplete)
}
