package service

import "github.com/certctl/certctl/pkg/errs"

// EmitOnce guards a read whose results are handed out as they are read
// (list and audit list print them as they come): it returns emit wrapped,
// and restart, to call at the start of each run of the read — a store may
// run a read again after a conflict, and once something was handed out
// that would hand it out twice, so restart then fails the read (exit 1: a
// runtime failure, not an unavailable vault); what was printed cannot be
// taken back.
func EmitOnce[T any](emit func(T) error) (restart func() error, wrapped func(T) error) {
	emitted := false
	restart = func() error {
		if emitted {
			return &errs.Error{Exit: errs.ExitFailure,
				Msg: "the list was interrupted by a conflicting change to the vault after part of it was printed; run it again"}
		}
		return nil
	}
	wrapped = func(v T) error {
		emitted = true
		return emit(v)
	}
	return restart, wrapped
}
