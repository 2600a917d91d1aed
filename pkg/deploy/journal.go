package deploy

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/certctl/certctl/pkg/fsutil"
)

// The journal of an install: before renaming a target's staged files into
// place, a host with a vault directory writes there (atomically, synced)
// the list of renames it is about to make, and removes it once they are
// made and synced. A journal still there names an install that was killed
// among its renames; since every file it names was complete and synced
// before it was written, the install is completed by renaming the temp
// files still there (completeInterrupted), which the next install of the
// host does before writing anything. The journal names paths only, never
// content.
const (
	journalPrefix = "host.deploy-"
	journalSuffix = ".journal"
)

// journalEntry is one rename of a journal.
type journalEntry struct {
	Temp string `json:"temp"`
	Path string `json:"path"`
}

// journalFile is a journal as written: its entries and their MAC under
// the host's key (host.key), so that a journal this host did not write —
// one put in a vault directory others can write — renames nothing.
type journalFile struct {
	Entries []journalEntry `json:"entries"`
	MAC     string         `json:"mac"`
}

// journalMAC is the MAC of entries' JSON under h's key.
func (h Host) journalMAC(entries []byte) string {
	return h.mac([]byte("certctl deploy journal v1\x00"), entries)
}

// journal is a written journal ("" path: none written).
type journal struct{ path string }

// writeJournal records the renames of staged in h's vault directory (none
// when h has no directory).
func (h Host) writeJournal(staged []*fsutil.Staged) (journal, error) {
	if h.dir == "" {
		return journal{}, nil
	}
	entries := make([]journalEntry, len(staged))
	for i, s := range staged {
		entries[i] = journalEntry{Temp: s.Temp(), Path: s.Path}
	}
	raw, err := json.Marshal(entries)
	if err != nil {
		return journal{}, err
	}
	data, err := json.Marshal(journalFile{Entries: entries, MAC: h.journalMAC(raw)})
	if err != nil {
		return journal{}, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	path := filepath.Join(h.dir, journalPrefix+hex.EncodeToString(b[:])+journalSuffix)
	if err := fsutil.WriteFileAtomic(path, data, 0o600); err != nil {
		return journal{}, fmt.Errorf("journaling the install: %w", err)
	}
	return journal{path: path}, nil
}

// drop removes the journal of an install that completed or was undone.
// Its removal need not be synced: a journal whose temp files are all gone
// is a no-op to completeInterrupted, which removes it.
func (j journal) drop() {
	if j.path != "" {
		_ = os.Remove(j.path)
	}
}

// completeInterrupted completes the installs of this host that were killed
// among their renames (see journal), once per process: it renames into
// place each journalled temp file still there, syncs the directories and
// removes the journal. A temp file that is gone was renamed already. It
// fails, naming the journal, when a rename fails: the target may then be
// half old, half new, and the next install to it is what repairs it.
func (h Host) completeInterrupted() error {
	if h.dir == "" {
		return nil
	}
	if h.cache != nil {
		h.cache.mu.Lock()
		done := h.cache.completed
		h.cache.completed = true
		h.cache.mu.Unlock()
		if done {
			return nil
		}
	}
	paths, err := filepath.Glob(filepath.Join(h.dir, journalPrefix+"*"+journalSuffix))
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, jp := range paths {
		if err := h.completeJournal(jp); err != nil {
			return fmt.Errorf("completing the deploy that a killed certctl left unfinished (journal %s): %w; "+
				"remove the journal to give it up (`certctl renew --due` installs the certificate again)", jp, err)
		}
	}
	return nil
}

// completeJournal completes the install journalled in jp and removes jp.
// Every entry is checked before anything is renamed: the journal must be
// this host's (its MAC under host.key), and each entry a temp file of the
// file itself, beside it, and a regular file (not a link) — what no more
// than an install of that file would have done.
func (h Host) completeJournal(jp string) error {
	data, err := os.ReadFile(jp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // completed meanwhile, by its install or another process
	}
	if err != nil {
		return err
	}
	var jf journalFile
	if err := json.Unmarshal(data, &jf); err != nil {
		return fmt.Errorf("not a deploy journal: %w", err)
	}
	raw, err := json.Marshal(jf.Entries)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(jf.MAC), []byte(h.journalMAC(raw))) {
		return fmt.Errorf("not a deploy journal of this host (its MAC does not verify under %s)", HostKeyFile)
	}
	var todo []journalEntry
	for _, e := range jf.Entries {
		if e.Path == "" || filepath.Dir(e.Temp) != filepath.Dir(e.Path) ||
			!strings.HasPrefix(filepath.Base(e.Temp), "."+filepath.Base(e.Path)+".tmp-") {
			return fmt.Errorf("not a deploy journal: an entry names %q for %q", e.Temp, e.Path)
		}
		fi, err := os.Lstat(e.Temp)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // renamed before
		case err != nil:
			return err
		case !fi.Mode().IsRegular():
			return fmt.Errorf("not a deploy journal: %s is not a regular file", e.Temp)
		}
		todo = append(todo, e)
	}
	dirs := map[string]bool{}
	for _, e := range todo {
		if err := os.Rename(e.Temp, e.Path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // renamed meanwhile
			}
			return err
		}
		dirs[filepath.Dir(e.Path)] = true
	}
	for d := range dirs {
		if err := fsutil.SyncDir(d); err != nil {
			return err
		}
	}
	return os.Remove(jp)
}
