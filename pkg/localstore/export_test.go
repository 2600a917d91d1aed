package localstore

// OpenConnections is how many database connections s holds open (tests).
func (s *SQLite) OpenConnections() int {
	n := s.db.Stats().OpenConnections
	if s.ro != s.db {
		n += s.ro.Stats().OpenConnections
	}
	return n
}
