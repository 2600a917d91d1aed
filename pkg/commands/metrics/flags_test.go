package metrics

import (
	"testing"

	"github.com/certctl/certctl/internal/flagtest"
	"github.com/certctl/certctl/pkg/errs"
)

func TestMetricsFlags(t *testing.T) {
	o, err := flagtest.Parse(t, NewCmdMetrics)
	if err != nil || o.OutFile != "" || o.Structured() {
		t.Fatalf("no flags: %+v, %v", o, err)
	}
	o, err = flagtest.Parse(t, NewCmdMetrics, "--out-file", "/var/lib/node_exporter/certctl.prom")
	if err != nil || o.OutFile != "/var/lib/node_exporter/certctl.prom" {
		t.Errorf("--out-file: %+v, %v", o, err)
	}
	if _, err := flagtest.Parse(t, NewCmdMetrics, "extra"); errs.ExitCodeOf(err) != errs.ExitUsage {
		t.Errorf("an argument: exit %d (%v), want 2", errs.ExitCodeOf(err), err)
	}
	// pflag's own refusals (mapped to exit 2 by the root command).
	for _, args := range [][]string{{"--out-file"}, {"--nosuch"}} {
		if o, err := flagtest.Parse(t, NewCmdMetrics, args...); err == nil || o != nil {
			t.Errorf("%q accepted: %+v", args, o)
		}
	}
}
