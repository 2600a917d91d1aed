package vaultops

// SetRotateProgress makes RotateKey call fn after each batch of re-sealed
// secrets (tests inject failures with it).
func SetRotateProgress(s *Service, fn func(done int) error) { s.rotateProgress = fn }

func SetAfterEmptyCheck(s *Service, fn func()) { s.afterEmptyCheck = fn }

func SetAfterKeyInstall(s *Service, fn func()) { s.afterKeyInstall = fn }

func SetAfterRewrapInstall(s *Service, fn func() error) { s.afterRewrapInstall = fn }
