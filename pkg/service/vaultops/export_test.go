package vaultops

import "time"

// SetRotateProgress makes RotateKey call fn after each batch of re-sealed
// secrets (tests inject failures with it).
func SetRotateProgress(s *Service, fn func(done int) error) { s.rotateProgress = fn }

func SetAfterEmptyCheck(s *Service, fn func()) { s.afterEmptyCheck = fn }

func SetAfterKeyInstall(s *Service, fn func()) { s.afterKeyInstall = fn }

func SetAfterRewrapInstall(s *Service, fn func() error) { s.afterRewrapInstall = fn }

// SetRecordWait sets how long a backup waits to record itself, and returns
// what puts it back.
func SetRecordWait(d time.Duration) func() {
	old := recordWait
	recordWait = d
	return func() { recordWait = old }
}
