package fsutil

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StaleTemp is how long a temporary file of CreateTemp's must have gone
// unwritten before it is taken for one that a killed process left.
const StaleTemp = time.Hour

// swept holds the directories and patterns swept by this process.
var swept sync.Map

// CreateTemp is os.CreateTemp(dir, pattern) for files that are renamed or
// linked into place once written (keys, backups, deployed files), that
// first removes, once per process, directory and pattern, the files of
// that pattern there unwritten for StaleTemp: those that a process killed
// between creating and renaming one (kill -9, a power loss) left behind,
// which can hold a key or a whole vault. A file being written is newer
// than that (or, written as a SQLite database, its log is: see
// sweepTemps).
func CreateTemp(dir, pattern string) (*os.File, error) {
	if _, done := swept.LoadOrStore(dir+"\x00"+pattern, true); !done {
		sweepTemps(dir, pattern, time.Now().Add(-StaleTemp))
	}
	return os.CreateTemp(dir, pattern)
}

// sweepTemps removes the regular files of dir named as os.CreateTemp names
// them after pattern (its last "*" replaced) when neither they nor the
// files SQLite keeps beside a database of that name (-wal, -shm,
// -journal: a backup is written as a database, whose main file can go
// unmodified for as long as it is written) were modified since cutoff.
func sweepTemps(dir, pattern string, cutoff time.Time) {
	prefix, suffix, entries := tempEntries(dir, pattern)
	var names []string
	latest := map[string]time.Time{} // by the name of the main file
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		main := sqliteMain(name)
		if t := fi.ModTime(); t.After(latest[main]) {
			latest[main] = t
		}
		if len(main) > len(prefix)+len(suffix) && strings.HasSuffix(main, suffix) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		if latest[sqliteMain(name)].Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}

// sqliteMain is the database a file SQLite keeps beside one belongs to
// (name itself for any other file).
func sqliteMain(name string) string {
	for _, x := range []string{"-wal", "-shm", "-journal"} {
		if m, ok := strings.CutSuffix(name, x); ok {
			return m
		}
	}
	return name
}

// SweepTempDirs removes the directories of dir named as os.MkdirTemp
// names them after pattern when neither they nor any file in them was
// modified since cutoff.
func SweepTempDirs(dir, pattern string, cutoff time.Time) {
	prefix, suffix, entries := tempEntries(dir, pattern)
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) || len(name) <= len(prefix)+len(suffix) {
			continue
		}
		path := filepath.Join(dir, name)
		fresh := false
		_ = filepath.WalkDir(path, func(_ string, d os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if fi, err := d.Info(); err == nil && fi.ModTime().After(cutoff) {
				fresh = true
				return filepath.SkipAll
			}
			return nil
		})
		if !fresh {
			_ = os.RemoveAll(path)
		}
	}
}

// tempEntries splits pattern at its last "*" (os.CreateTemp's and
// os.MkdirTemp's random part) and reads dir; no entries when the pattern
// has no "*" or dir cannot be read.
func tempEntries(dir, pattern string) (prefix, suffix string, entries []os.DirEntry) {
	i := strings.LastIndexByte(pattern, '*')
	if i < 0 {
		return "", "", nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", "", nil
	}
	return pattern[:i], pattern[i+1:], entries
}

// A process's own temporary directories (MkdirOwnedTemp) are named
// <prefix><host>.<pid>-<random>: the host (eight hex digits of its name's
// FNV-1a hash) and the process that made it, so that a later process of
// the same host removes one whose process is gone at once, not after
// StaleTemp (tester: a backup killed by kill -9 left a copy of the vault,
// sealed keys and all, in the user's output directory for an hour).

// OwnedTempPrefix begins the name of a directory MkdirOwnedTemp makes
// with prefix for process pid of this host.
func OwnedTempPrefix(prefix string, pid int) string {
	return prefix + hostTag() + "." + strconv.Itoa(pid) + "-"
}

// hostTag names this host in an owned temporary directory's name.
func hostTag() string {
	h := fnv.New32a()
	name, _ := os.Hostname()
	h.Write([]byte(name))
	return fmt.Sprintf("%08x", h.Sum32())
}

// MkdirOwnedTemp makes a temporary directory of this process in dir, named
// after prefix, first removing those of prefix there that a process of
// this host left when it was killed (SweepOwnedTemps).
func MkdirOwnedTemp(dir, prefix string) (string, error) {
	SweepOwnedTemps(dir, prefix)
	return os.MkdirTemp(dir, OwnedTempPrefix(prefix, os.Getpid())+"*")
}

// OwnedTempsGone returns the temporary directories of dir named after
// prefix (MkdirOwnedTemp) whose process, on this host, is gone: what a
// process killed there left.
func OwnedTempsGone(dir, prefix string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		pid, ok := strings.CutPrefix(strings.SplitN(rest, "-", 2)[0], hostTag()+".")
		if n, err := strconv.Atoi(pid); ok && err == nil && n > 0 && n != os.Getpid() && ProcessGone(n) {
			out = append(out, e.Name())
		}
	}
	return out
}

// SweepOwnedTemps removes from dir the temporary directories named after
// prefix whose process, on this host, is gone; and any of prefix (another
// host's: a container sharing the volume, whose processes are not seen
// from here) in which nothing was written for StaleTemp.
func SweepOwnedTemps(dir, prefix string) {
	for _, name := range OwnedTempsGone(dir, prefix) {
		_ = os.RemoveAll(filepath.Join(dir, name))
	}
	SweepTempDirs(dir, prefix+"*", time.Now().Add(-StaleTemp))
}
