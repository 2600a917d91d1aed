package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
)

const (
	idOld = "758043a9-0c1e-4d5f-9a2b-6f3e1d2c4b5a"
	idNew = "1b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d"
)

// TestLabels: targets that render alike (one path, two hosts of one name)
// get their hosts' short IDs, the whole IDs when those are alike too;
// every other label is as it was.
func TestLabels(t *testing.T) {
	cases := []struct {
		name string
		ts   []Target
		want []string
	}{
		{"distinct", []Target{
			{CertFile: "/a.crt", HostID: idOld, Host: "web1"},
			{CertFile: "/a.crt", HostID: idNew, Host: "web2"},
			{CertFile: "/b.crt"},
		}, []string{"file:/a.crt (host web1)", "file:/a.crt (host web2)", "file:/b.crt"}},
		{"rebuilt host", []Target{
			{CertFile: "/a.crt", HostID: idNew, Host: "hostC"},
			{CertFile: "/b.crt", HostID: idNew, Host: "hostC"},
			{CertFile: "/a.crt", HostID: idOld, Host: "hostC"},
		}, []string{"file:/a.crt (host hostC 1b2c3d4e)", "file:/b.crt (host hostC)", "file:/a.crt (host hostC 758043a9)"}},
		{"short IDs alike", []Target{
			{CertFile: "/a.crt", HostID: idOld, Host: "hostC"},
			{CertFile: "/a.crt", HostID: idOld[:8] + "-ffff-4fff-8fff-ffffffffffff", Host: "hostC"},
		}, []string{"file:/a.crt (host hostC " + idOld + ")", "file:/a.crt (host hostC " + idOld[:8] + "-ffff-4fff-8fff-ffffffffffff)"}},
	}
	for _, c := range cases {
		got := Labels(c.ts)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: %q\nwant %q", c.name, got, c.want)
		}
		for i, tg := range c.ts {
			if l := LabelIn(c.ts, tg); l != got[i] {
				t.Errorf("%s: LabelIn %q, want %q", c.name, l, got[i])
			}
		}
	}
}

// TestRemoval: without --host, this host's target at the path (and an
// unbound one); with it, the targets of the host it names by ID, name or
// short ID; none is not found, several hosts' is invalid.
func TestRemoval(t *testing.T) {
	h := Host{ID: idNew, Name: "hostC"}
	mine := Target{CertFile: "/a.crt", HostID: idNew, Host: "hostC"}
	former := Target{CertFile: "/a.crt", HostID: idOld, Host: "hostC"}
	other := Target{CertFile: "/b.crt", HostID: idOld, Host: "web1"}
	unbound := Target{CertFile: "/c.crt"}
	ts := []Target{mine, former, other, unbound}
	cases := []struct {
		file, host string
		want       []Target
		exit       errs.ExitCode
	}{
		{"/a.crt", "", []Target{mine}, 0},
		{"/c.crt", "", []Target{unbound}, 0},
		{"/a.crt", idOld, []Target{former}, 0},
		{"/a.crt", idOld[:8], []Target{former}, 0},
		{"/a.crt", strings.ToUpper(idOld[:8]), []Target{former}, 0},
		{"/a.crt", idNew, []Target{mine}, 0},
		{"/b.crt", "web1", []Target{other}, 0},
		{"/a.crt", "hostC", nil, errs.ExitInvalid},
		{"/a.crt", idOld[:7], nil, errs.ExitNotFound},
		{"/b.crt", "", nil, errs.ExitNotFound},
		{"/d.crt", "", nil, errs.ExitNotFound},
		{"/c.crt", "web1", nil, errs.ExitNotFound},
	}
	for _, c := range cases {
		got, err := h.Removal("arn:x", ts, c.file, c.host)
		if errs.ExitCodeOf(err) != c.exit && !(err == nil && c.exit == 0) {
			t.Errorf("%s --host %q: exit %d (%v), want %d", c.file, c.host, errs.ExitCodeOf(err), err, c.exit)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s --host %q: %+v, want %+v", c.file, c.host, got, c.want)
			continue
		}
		for i := range got {
			if !SameTarget(got[i], c.want[i]) {
				t.Errorf("%s --host %q: %+v, want %+v", c.file, c.host, got, c.want)
			}
		}
	}
	// Not found at a path where another host has a target: the hint
	// names that host's ID.
	_, err := h.Removal("arn:x", ts, "/b.crt", "")
	var e *errs.Error
	if !errors.As(err, &e) || !strings.Contains(e.Hint, idOld) {
		t.Fatalf("not found at another host's path: %#v", err)
	}
}

// TestFormerSelf: another host's target bearing this host's name, and
// nothing else; its hint is the command that removes it.
func TestFormerSelf(t *testing.T) {
	h := Host{ID: idNew, Name: "hostC"}
	for _, c := range []struct {
		t    Target
		want bool
	}{
		{Target{CertFile: "/a.crt", HostID: idOld, Host: "hostC"}, true},
		{Target{CertFile: "/a.crt", HostID: idNew, Host: "hostC"}, false},
		{Target{CertFile: "/a.crt", HostID: idOld, Host: "web1"}, false},
		{Target{CertFile: "/a.crt"}, false},
	} {
		if got := h.FormerSelf(c.t); got != c.want {
			t.Errorf("FormerSelf(%+v) = %v", c.t, got)
		}
	}
	got := RebuiltHint("arn:x", Target{CertFile: "/srv/my app/a.crt", HostID: idOld})
	if want := "certctl deploy arn:x --remove --cert-file '/srv/my app/a.crt' --host " + idOld; !strings.HasSuffix(got, want) {
		t.Fatalf("hint %q, want it to end in %q", got, want)
	}
}
