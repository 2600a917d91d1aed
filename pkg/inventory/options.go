package inventory

import (
	"strings"

	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
)

// Certificate options (ACM's CertificateOptions) and their values.
const (
	OptionExport    = "Export"
	OptionCTLogging = "CertificateTransparencyLoggingPreference"
	Enabled         = "ENABLED"
	Disabled        = "DISABLED"
)

// OptionNames are the keys of --options and OptionStates their values.
var (
	OptionNames  = []string{OptionExport, OptionCTLogging}
	OptionStates = []string{Enabled, Disabled}
)

// OptionPairs are the items --options takes, for its completion:
// Export=ENABLED, Export=DISABLED, CertificateTransparencyLoggingPreference=…
func OptionPairs() []string {
	var out []string
	for _, k := range OptionNames {
		for _, v := range OptionStates {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// ParseOptions parses the AWS shorthand of --options,
// `Export=ENABLED|DISABLED,CertificateTransparencyLoggingPreference=ENABLED|DISABLED`
// (either key, or both), into the values given ("" for a key not given).
// Errors are usage errors (exit 2).
func ParseOptions(s string) (export, ct string, err error) {
	if s == "" {
		return "", "", nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			return "", "", errs.UsageErrorf("invalid --options %q: use Export=ENABLED|DISABLED,CertificateTransparencyLoggingPreference=ENABLED|DISABLED", s)
		}
		// Keys and values are exact, as in the AWS CLI and ACM.
		if !enum.Has(OptionNames, k) {
			return "", "", errs.UsageErrorf("unknown option %q in --options%s", k, enum.Problem(k, OptionNames))
		}
		if err := enum.Error("--options "+k, v, OptionStates); err != nil {
			return "", "", &errs.Error{Exit: errs.ExitUsage, Err: err}
		}
		set := func(dst *string, name string) error {
			if *dst != "" && *dst != v {
				return errs.UsageErrorf("--options gives %s twice, as %s and as %s", name, *dst, v)
			}
			*dst = v
			return nil
		}
		if k == OptionExport {
			err = set(&export, OptionExport)
		} else {
			err = set(&ct, OptionCTLogging)
		}
		if err != nil {
			return "", "", err
		}
	}
	return export, ct, nil
}
