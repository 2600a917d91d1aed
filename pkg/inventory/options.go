package inventory

import (
	"strings"

	"github.com/certctl/certctl/pkg/errs"
)

// Certificate options (ACM's CertificateOptions) and their values.
const (
	OptionExport    = "Export"
	OptionCTLogging = "CertificateTransparencyLoggingPreference"
	Enabled         = "ENABLED"
	Disabled        = "DISABLED"
)

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
		v = strings.ToUpper(strings.TrimSpace(v))
		if !ok || (v != Enabled && v != Disabled) {
			return "", "", errs.UsageErrorf("invalid --options %q: use Export=ENABLED|DISABLED,CertificateTransparencyLoggingPreference=ENABLED|DISABLED", s)
		}
		set := func(dst *string, name string) error {
			if *dst != "" && *dst != v {
				return errs.UsageErrorf("--options gives %s twice, as %s and as %s", name, *dst, v)
			}
			*dst = v
			return nil
		}
		switch strings.TrimSpace(k) {
		case OptionExport:
			err = set(&export, OptionExport)
		case OptionCTLogging:
			err = set(&ct, OptionCTLogging)
		default:
			return "", "", errs.UsageErrorf("unknown option %q in --options (use Export, CertificateTransparencyLoggingPreference)", k)
		}
		if err != nil {
			return "", "", err
		}
	}
	return export, ct, nil
}
