package deploy

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/shellarg"
)

// shortID is how many characters of a host ID tell two hosts of one name
// apart in InUseBy (see Labels), and the shortest prefix of an ID that
// `certctl deploy --remove --host` takes for it.
const shortID = 8

// Labels are the InUseBy labels of ts, one per target, in order. Two
// targets that would render alike — the same path on two hosts of one
// name, as when a host whose vault directory was rebuilt (a new host.id)
// records a target beside its former self's — are told apart by the
// first characters of their hosts' IDs (the whole IDs when those are alike
// too): InUseBy never holds one string twice, and each of its entries
// names a target that `certctl deploy --remove --host` can name.
func Labels(ts []Target) []string {
	out := make([]string, len(ts))
	count := map[string]int{}
	for i, t := range ts {
		out[i] = t.Label()
		count[out[i]]++
	}
	for _, n := range []int{shortID, 0} {
		again := map[string]int{}
		for i, t := range ts {
			if count[out[i]] > 1 && t.HostID != "" {
				out[i] = t.labelWithID(n)
			}
			again[out[i]]++
		}
		count = again
	}
	return out
}

// labelWithID is t's label with its host ID, or the first n characters of
// it (n > 0): "file:PATH (host NAME 758043a9)".
func (t Target) labelWithID(n int) string {
	id := t.HostID
	if n > 0 && len(id) > n {
		id = id[:n]
	}
	if t.Host == "" || t.Host == t.HostID {
		return "file:" + t.CertFile + " (host " + t.HostID + ")"
	}
	return "file:" + t.CertFile + " (host " + t.Host + " " + id + ")"
}

// FormerSelf reports whether t is a target of another host that bears
// h's name: most likely h itself before its vault directory was rebuilt
// (a new host.id), a target that nothing installs any more. Only its
// removal (see Removal) ends it; a name proves nothing, so it is never
// taken over or removed on its own.
func (h Host) FormerSelf(t Target) bool {
	return t.HostID != "" && t.HostID != h.ID && t.Host != "" && t.Host == h.Name
}

// RebuiltHint is the advice given about a FormerSelf target t of the
// certificate arn: the command that removes it.
func RebuiltHint(arn string, t Target) string {
	return fmt.Sprintf("if this host's vault directory was rebuilt, remove the old target: certctl deploy %s --remove --cert-file %s --host %s",
		arn, shellarg.Quote(t.CertFile), t.HostID)
}

// matchesHost reports whether ref, as given to `deploy --remove --host`,
// names t's host: its ID, its name, or a prefix of its ID of at least
// shortID characters (as Labels shows it).
func matchesHost(ref string, t Target) bool {
	if t.HostID == "" {
		return false
	}
	return ref == t.HostID || ref == t.Host ||
		len(ref) >= shortID && strings.HasPrefix(t.HostID, strings.ToLower(ref))
}

// Removal selects, among ts (the targets of the certificate arn), the
// targets that `certctl deploy --remove --cert-file certFile [--host
// hostRef]` removes. Without hostRef it is this host's target at that path
// (and one recorded there before targets had hosts); another host's
// target only when hostRef names that host — a dead host cannot remove
// its own, and removing a record makes no host write or run anything, so
// any host may. A path with no such target is not found (exit 3, naming
// the hosts whose targets are there); a name borne by the hosts of
// several targets at the path (a host and its rebuilt self) names none of
// them (exit 4, listing their IDs).
func (h Host) Removal(arn string, ts []Target, certFile, hostRef string) ([]Target, error) {
	var at, match []Target
	for _, t := range ts {
		if t.CertFile != certFile {
			continue
		}
		at = append(at, t)
		switch {
		case hostRef == "" && (t.HostID == "" || t.HostID == h.ID):
			match = append(match, t)
		case hostRef != "" && matchesHost(hostRef, t):
			match = append(match, t)
		}
	}
	if len(match) == 0 {
		where := "this host"
		if hostRef != "" {
			where = "host " + hostRef
		}
		e := errs.NotFoundf("certificate %s has no deploy target of %s at %s", arn, where, certFile)
		if len(at) > 0 {
			labels := Labels(at)
			var others []string
			for i, t := range at {
				others = append(others, fmt.Sprintf("%s: host ID %s", labels[i], t.HostID))
			}
			sort.Strings(others)
			return nil, e.WithHint("targets at that path: %s; name one with --host ID", strings.Join(others, ", "))
		}
		return nil, e
	}
	if len(match) > 1 && hostRef != "" {
		ids := make([]string, len(match))
		for i, t := range match {
			ids[i] = t.HostID
		}
		sort.Strings(ids)
		return nil, errs.Invalidf("--host %s names the hosts of %d deploy targets of certificate %s at %s (host IDs %s)",
			hostRef, len(match), arn, certFile, strings.Join(ids, ", ")).
			WithHint("name one by its host ID: certctl deploy %s --remove --cert-file %s --host ID", arn, shellarg.Quote(certFile))
	}
	return match, nil
}

// DropTargets removes the targets drop (as Removal selected them) from
// certID's deploy record, and returns the InUseBy labels of those left
// (none: the record is removed, and the certificate no longer in use by
// a deploy target). Nothing on any host is written or run: the files stay
// where they were installed, and no renewal rewrites them again.
func DropTargets(tx localstore.Tx, certID string, drop []Target, now time.Time) ([]string, error) {
	ts, err := Targets(tx, certID)
	if err != nil {
		return nil, err
	}
	var left []Target
	for _, t := range ts {
		gone := false
		for _, d := range drop {
			gone = gone || SameTarget(t, d)
		}
		if !gone {
			left = append(left, t)
		}
	}
	if len(left) == 0 {
		return nil, RemoveTargets(tx, certID)
	}
	if err := putTargets(tx, certID, left, now); err != nil {
		return nil, err
	}
	return Labels(left), nil
}

// LabelIn is t's label among ts, the targets of its certificate: its
// InUseBy entry (see Labels).
func LabelIn(ts []Target, t Target) string {
	for i, l := range Labels(ts) {
		if SameTarget(ts[i], t) {
			return l
		}
	}
	return t.Label()
}
