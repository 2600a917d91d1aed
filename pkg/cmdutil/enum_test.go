package cmdutil

import (
	"testing"

	"github.com/certctl/certctl/pkg/errs"
)

// TestCheckEnum: values are exact; a wrong case is a usage error that
// names the value meant and lists the valid ones.
func TestCheckEnum(t *testing.T) {
	allowed := []string{"DNS", "EMAIL", "HTTP"}
	if err := CheckEnum("validation-method", []string{"DNS", "HTTP"}, allowed); err != nil {
		t.Fatal(err)
	}
	err := CheckEnum("validation-method", []string{"DNS", "email"}, allowed)
	want := `invalid value "email" for --validation-method: did you mean EMAIL? (use one of DNS, EMAIL, HTTP)`
	if errs.ExitCodeOf(err) != errs.ExitUsage || err.Error() != want {
		t.Errorf("got %v (exit %d), want %s", err, errs.ExitCodeOf(err), want)
	}
}
