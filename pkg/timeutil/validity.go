package timeutil

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/enum"
)

// Validity is a certificate's requested lifetime (AWS Private CA's
// Validity): relative to the moment of issuance (a duration, or calendar
// days, months or years), or an absolute end date.
type Validity struct {
	Duration time.Duration // relative: a duration (90d, 12h, DAYS)
	Months   int           // relative: calendar months (MONTHS, YEARS×12)
	End      time.Time     // absolute: RFC 3339, ABSOLUTE or END_DATE
}

// IsZero reports an unset validity.
func (v Validity) IsZero() bool { return v.Duration == 0 && v.Months == 0 && v.End.IsZero() }

// NotAfter is the end of the validity for a certificate issued at issued.
func (v Validity) NotAfter(issued time.Time) time.Time {
	switch {
	case !v.End.IsZero():
		return v.End
	case v.Months != 0:
		return issued.AddDate(0, v.Months, 0)
	default:
		return issued.Add(v.Duration)
	}
}

// String is the validity as ParseValidity reads it back.
func (v Validity) String() string {
	switch {
	case !v.End.IsZero():
		return RFC3339(v.End)
	case v.Months%12 == 0 && v.Months != 0:
		return fmt.Sprintf("Value=%d,Type=YEARS", v.Months/12)
	case v.Months != 0:
		return fmt.Sprintf("Value=%d,Type=MONTHS", v.Months)
	default:
		return FormatDuration(v.Duration)
	}
}

// maxValue bounds Value=N so that no arithmetic overflows (a thousand years).
const maxValueDays = 1000 * 366

// ParseValidity reads --validity: a duration ("90d", "12h", "1y"), an
// RFC 3339 end date ("2027-06-30T00:00:00Z"), or AWS Private CA's
// "Value=N,Type=DAYS|MONTHS|YEARS|ABSOLUTE|END_DATE" (ABSOLUTE: N is a Unix
// time in seconds; END_DATE: N is YYYYMMDDHHMMSS, or YYMMDDHHMMSS as in an
// X.509 UTCTime, in UTC). Relative validities must be positive.
func ParseValidity(s string) (Validity, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Validity{}, errors.New("empty validity")
	}
	if strings.Contains(s, "=") {
		value, typ, err := pcaValue(s)
		if err != nil {
			return Validity{}, err
		}
		switch typ {
		case "DAYS", "MONTHS", "YEARS":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n <= 0 {
				return Validity{}, fmt.Errorf("Value=%q must be a positive integer for Type=%s", value, typ)
			}
			limit := map[string]int64{"DAYS": maxValueDays, "MONTHS": maxValueDays / 31, "YEARS": maxValueDays / 366}[typ]
			if n > limit {
				return Validity{}, fmt.Errorf("Value=%d %s is too long", n, typ)
			}
			switch typ {
			case "DAYS":
				return Validity{Duration: time.Duration(n) * Day}, nil
			case "MONTHS":
				return Validity{Months: int(n)}, nil
			default:
				return Validity{Months: int(n) * 12}, nil
			}
		case "ABSOLUTE":
			t, err := parseAbsolute(value)
			if err != nil {
				return Validity{}, err
			}
			return Validity{End: t}, nil
		case "END_DATE":
			t, err := parseEndDate(value)
			if err != nil {
				return Validity{}, err
			}
			return Validity{End: t}, nil
		default:
			return Validity{}, fmt.Errorf("Type=%q%s", typ, enum.Problem(typ, ValidityTypes))
		}
	}
	if len(s) >= 10 && s[4] == '-' {
		t, err := ParseRFC3339(s)
		if err != nil {
			return Validity{}, fmt.Errorf("%q is not an RFC 3339 time (2027-06-30T00:00:00Z)", s)
		}
		return Validity{End: t.UTC()}, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return Validity{}, err
	}
	if d <= 0 {
		return Validity{}, fmt.Errorf("validity %q is not positive", s)
	}
	return Validity{Duration: d}, nil
}

// ParseNotBefore reads --validity-not-before: an RFC 3339 time or
// "Value=N,Type=ABSOLUTE" (N a Unix time in seconds).
func ParseNotBefore(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "=") {
		value, typ, err := pcaValue(s)
		if err != nil {
			return time.Time{}, err
		}
		if typ != "ABSOLUTE" {
			if enum.Suggest(typ, []string{"ABSOLUTE"}) != "" {
				return time.Time{}, fmt.Errorf("Type=%q: did you mean ABSOLUTE? (a start takes Type=ABSOLUTE or an RFC 3339 time)", typ)
			}
			return time.Time{}, fmt.Errorf("Type=%q (a start takes Type=ABSOLUTE or an RFC 3339 time)", typ)
		}
		return parseAbsolute(value)
	}
	t, err := ParseRFC3339(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or Value=N,Type=ABSOLUTE", s)
	}
	return t.UTC(), nil
}

// ValidityTypes are the Types of AWS Private CA's Validity shorthand.
var ValidityTypes = []string{"DAYS", "MONTHS", "YEARS", "ABSOLUTE", "END_DATE"}

// pcaValueKeys are the keys of the shorthand, spelt exactly as the AWS CLI
// spells them.
var pcaValueKeys = []string{"Value", "Type"}

// pcaValue splits "Value=N,Type=T" (either order; keys and the type are
// exact, as in the AWS CLI).
func pcaValue(s string) (value, typ string, err error) {
	var haveV, haveT bool
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", "", fmt.Errorf("%q: want Value=N,Type=T", s)
		}
		switch k = strings.TrimSpace(k); k {
		case "Value":
			if haveV {
				return "", "", errors.New("Value given twice")
			}
			value, haveV = strings.TrimSpace(v), true
		case "Type":
			if haveT {
				return "", "", errors.New("Type given twice")
			}
			typ, haveT = strings.TrimSpace(v), true
		default:
			return "", "", fmt.Errorf("unknown key %q in Value=N,Type=T%s", k, enum.Problem(k, pcaValueKeys))
		}
	}
	if !haveV || !haveT {
		return "", "", fmt.Errorf("%q: want Value=N,Type=T", s)
	}
	return value, typ, nil
}

// absolute times are bounded to years 1950..9999 (X.509's range).
var (
	minTime = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

func parseAbsolute(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("Value=%q must be a Unix time in seconds for Type=ABSOLUTE", v)
	}
	if n < minTime.Unix() || n > maxTime.Unix() {
		return time.Time{}, fmt.Errorf("Value=%d is out of range for Type=ABSOLUTE", n)
	}
	return time.Unix(n, 0).UTC(), nil
}

func parseEndDate(v string) (time.Time, error) {
	layout := "20060102150405"
	if len(v) == 12 {
		layout = "060102150405"
	}
	if len(v) != len(layout) {
		return time.Time{}, fmt.Errorf("Value=%q must be YYYYMMDDHHMMSS or YYMMDDHHMMSS for Type=END_DATE", v)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return time.Time{}, fmt.Errorf("Value=%q must be YYYYMMDDHHMMSS or YYMMDDHHMMSS for Type=END_DATE", v)
		}
	}
	t, err := time.Parse(layout, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("Value=%q is not a date: %w", v, err)
	}
	if len(v) == 12 && t.Year() >= 2050 { // X.509 UTCTime: 50..99 are 19xx
		t = t.AddDate(-100, 0, 0)
	}
	if t.Before(minTime) {
		return time.Time{}, fmt.Errorf("Value=%q is out of range for Type=END_DATE", v)
	}
	return t.UTC(), nil
}
