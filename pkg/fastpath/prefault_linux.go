package fastpath

import "syscall"

// Mapping the program's own code and read-only data in one call.
//
// A command runs code and reads tables spread over most of the program's
// text and read-only data (about 25 MiB), and the first touch of each page
// of them is a page fault: the kernel maps the page, and the few around
// it, from the page cache. `request` took about 270 such faults, each
// costly on a virtual machine. MADV_POPULATE_READ (Linux 5.14) maps every
// page of a range in one call instead, far more cheaply a page. Where
// bench/run.sh runs, `request --key-algorithm EC_prime256v1` went from
// 38.2 to 36.4 ms (median of 100, bench/cmd/alternate running it in turn
// with and without; text alone 37.2 ms, read-only data alone 39.1 ms, the
// writable data as well no better) and its CPU time fell by 2–3 ms.
//
// It is advice: a kernel before 5.14 refuses it (EINVAL) and only the speed
// differs. It maps pages of the program's own file, which the kernel may
// drop again under memory pressure as it drops any clean file page.
const madvPopulateRead = 22 // MADV_POPULATE_READ, on every Linux architecture

// mapsPath is the list of this process's mappings.
const mapsPath = "/proc/self/maps"

// span is an address range of the program's read-only mappings.
type span struct{ start, end uintptr }

// prefaultImage maps the pages of the program's read-only mappings (its
// code and read-only data) and returns how many ranges it advised, and
// the first error madvise returned.
func prefaultImage() (int, error) {
	var buf [4096]byte // on the stack: this init allocates next to nothing
	fd, err := syscall.Open(mapsPath, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err != nil || m <= 0 {
			break
		}
		n += m
	}
	syscall.Close(fd)
	var spans [4]span
	k := imageSpans(buf[:n], &spans)
	var first error
	for _, s := range spans[:k] {
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, s.start, s.end-s.start, madvPopulateRead); e != 0 && first == nil {
			first = e
		}
	}
	return k, first
}

// imageSpans puts into out the read-only mappings (readable, not
// writable) of the file mapped first in maps — the contents of
// /proc/self/maps, whose first lines are the program's own file — and
// returns how many it put. It stops at the first line that is not one of
// that file's, that it cannot read, or that is cut short.
func imageSpans(maps []byte, out *[4]span) int {
	k := 0
	var file []byte
	for len(maps) > 0 && k < len(out) {
		end := 0
		for end < len(maps) && maps[end] != '\n' {
			end++
		}
		if end == len(maps) {
			break // cut short
		}
		line := maps[:end]
		maps = maps[end+1:]
		// start-end perms offset dev inode path
		var field [6][]byte
		nf := 0
		for i := 0; i < len(line) && nf < len(field); {
			for i < len(line) && line[i] == ' ' {
				i++
			}
			j := i
			if nf == len(field)-1 {
				j = len(line) // the path, which may hold spaces
			}
			for j < len(line) && line[j] != ' ' {
				j++
			}
			if j > i {
				field[nf] = line[i:j]
				nf++
			}
			i = j
		}
		if nf < len(field) || field[4][0] == '0' && len(field[4]) == 1 || field[5][0] != '/' {
			break // not a file's mapping
		}
		if file == nil {
			file = field[5]
		} else if string(field[5]) != string(file) {
			break
		}
		start, stop, ok := hexRange(field[0])
		perms := field[1]
		if !ok || len(perms) < 2 {
			break
		}
		if perms[0] == 'r' && perms[1] != 'w' {
			out[k] = span{start, stop}
			k++
		}
	}
	return k
}

// hexRange parses "start-end", two hexadecimal addresses with start < end.
func hexRange(b []byte) (start, end uintptr, ok bool) {
	var v [2]uintptr
	k, digits := 0, 0
	for _, c := range b {
		var d uintptr
		switch {
		case c >= '0' && c <= '9':
			d = uintptr(c - '0')
		case c >= 'a' && c <= 'f':
			d = uintptr(c-'a') + 10
		case c == '-' && k == 0 && digits > 0:
			k, digits = 1, 0
			continue
		default:
			return 0, 0, false
		}
		if digits == 16 {
			return 0, 0, false
		}
		v[k] = v[k]<<4 | d
		digits++
	}
	return v[0], v[1], k == 1 && digits > 0 && v[0] < v[1]
}
