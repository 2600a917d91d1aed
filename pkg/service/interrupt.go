package service

import (
	"context"
	"fmt"

	"github.com/certctl/certctl/pkg/errs"
)

// OutcomeNotDone is the outcome of an item of a batch — a bulk operation
// on a selection, `renew --due`, `import --from-dir` — that an
// interruption (Ctrl-C, SIGTERM: ctx cancelled) stopped before it was
// done: nothing was changed or recorded for it, and running the command
// again does it. The bulk operations and import --from-dir report it so;
// renew, whose outcomes SPEC enumerates, reports such a certificate FAILED,
// with ReasonNotDone as for every item not done.
const OutcomeNotDone = "NOT_DONE"

// ReasonNotDone is the reason given with OutcomeNotDone.
const ReasonNotDone = "not done: the command was interrupted"

// Stopped reports whether a batch running under ctx is to start no more
// items: ctx was cancelled (an interruption) or its deadline passed. The
// batch then reports every item done so far and the others as
// OutcomeNotDone, and its report's error is Interrupted.
func Stopped(ctx context.Context) bool { return ctx.Err() != nil }

// Interrupted is the error of a batch that an interruption stopped, after
// its report: exit 7 (a batch that did not complete), saying how many of
// its items (noun: "certificates", "files") were not done.
func Interrupted(notDone, total int, noun string) error {
	return &errs.Error{Exit: errs.ExitPartial, Msg: fmt.Sprintf(
		"interrupted: %d of %d %s not done (%q in the results); run the command again to finish", notDone, total, noun, ReasonNotDone)}
}
