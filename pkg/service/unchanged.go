package service

import (
	"context"
	"errors"
)

// ErrUnchanged, returned by the function of a change run with ChangeIf,
// means that the change, having read the current state in its transaction,
// found nothing to do: nothing is written and nothing is recorded.
var ErrUnchanged = errors.New("nothing to change")

// ChangeIf is Change for a change that may turn out to have nothing to do
// (a renewal pass finding a certificate renewed meanwhile, a validation
// check finding no name changed): when fn returns ErrUnchanged the
// transaction is rolled back, no audit record is written, and ChangeIf
// returns false and no error. It reports whether the change was made.
func (c *Core) ChangeIf(ctx context.Context, eventName string, fn func(*Op) error) (bool, error) {
	err := c.Change(ctx, eventName, fn)
	if errors.Is(err, ErrUnchanged) {
		return false, nil
	}
	return err == nil, err
}
