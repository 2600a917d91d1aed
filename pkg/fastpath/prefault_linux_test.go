package fastpath

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPrefaultMapsTheProgram: the program's code and read-only data (this
// test binary's, advised here as init advises certctl's where first
// touches are slow) are mapped whole — every page of them resident in the
// process — unless the kernel predates MADV_POPULATE_READ (5.14), which
// refuses the advice with EINVAL.
func TestPrefaultMapsTheProgram(t *testing.T) {
	n, err := prefaultImage()
	if n != 2 {
		t.Fatalf("advised %d ranges, want 2 (the program's text and its read-only data)", n)
	}
	if err != nil {
		if errors.Is(err, syscall.EINVAL) && kernelBefore(t, 5, 14) {
			return
		}
		t.Fatalf("madvise(MADV_POPULATE_READ): %v", err)
	}
	maps, err := os.ReadFile(mapsPath)
	if err != nil {
		t.Fatal(err)
	}
	var spans [4]span
	for _, s := range spans[:imageSpans(maps, &spans)] {
		size, rss := residentOf(t, s.start)
		if size == 0 || rss != size {
			t.Errorf("mapping %#x-%#x: %d of %d kB resident, want all", s.start, s.end, rss, size)
		}
	}
}

// TestImageSpans: the read-only mappings of the file mapped first, and
// nothing past the first line that is not that file's.
func TestImageSpans(t *testing.T) {
	const exe = "/usr/local/bin/cert ctl"
	for _, c := range []struct {
		name, maps string
		want       []span
	}{
		{"text, rodata, data", "00400000-0109b000 r-xp 00000000 fe:00 10134823 " + exe + "\n" +
			"0109b000-01d40000 r--p 00c9b000 fe:00 10134823 " + exe + "\n" +
			"01d40000-01e60000 rw-p 01940000 fe:00 10134823 " + exe + "\n" +
			"01e60000-040cf000 rw-p 00000000 00:00 0 \n" +
			"7f0000000000-7f0000001000 r--p 00000000 fe:00 99 /usr/lib/other.so\n",
			[]span{{0x400000, 0x109b000}, {0x109b000, 0x1d40000}}},
		{"stops at another file", "00400000-00401000 r-xp 00000000 fe:00 1 /a\n" +
			"00401000-00402000 r--p 00000000 fe:00 2 /b\n" +
			"00402000-00403000 r--p 00000000 fe:00 1 /a\n",
			[]span{{0x400000, 0x401000}}},
		{"stops at an anonymous mapping", "00400000-00401000 r-xp 00000000 fe:00 1 /a\n" +
			"00401000-00402000 r--p 00000000 00:00 0 \n" +
			"00402000-00403000 r--p 00000000 fe:00 1 /a\n",
			[]span{{0x400000, 0x401000}}},
		{"a cut line is not read", "00400000-00401000 r-xp 00000000 fe:00 1 /a\n00401000-00402", []span{{0x400000, 0x401000}}},
		{"not a file first", "7ffc0000-7ffc1000 r--p 00000000 00:00 0 [vvar]\n", nil},
		{"bad range", "00401000-00400000 r-xp 00000000 fe:00 1 /a\n", nil},
		{"no range", "-00400000 r-xp 00000000 fe:00 1 /a\n", nil},
		{"too many digits", "10000000000000000-10000000000000001 r-xp 00000000 fe:00 1 /a\n", nil},
		{"unreadable not writable", "00400000-00401000 ---p 00000000 fe:00 1 /a\n00401000-00402000 r--p 00000000 fe:00 1 /a\n",
			[]span{{0x401000, 0x402000}}},
		{"at most four", strings.Repeat("00400000-00401000 r--p 00000000 fe:00 1 /a\n", 6),
			[]span{{0x400000, 0x401000}, {0x400000, 0x401000}, {0x400000, 0x401000}, {0x400000, 0x401000}}},
		{"empty", "", nil},
	} {
		var out [4]span
		got := out[:imageSpans([]byte(c.maps), &out)]
		if len(got) != len(c.want) {
			t.Errorf("%s: %#v, want %#v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %#v, want %#v", c.name, got, c.want)
				break
			}
		}
	}
}

func FuzzImageSpans(f *testing.F) {
	f.Add([]byte("00400000-0109b000 r-xp 00000000 fe:00 10134823 /tmp/certctl\n0109b000-01d40000 r--p 00c9b000 fe:00 10134823 /tmp/certctl\n"))
	f.Add([]byte("7ffc0000-7ffc1000 r--p 00000000 00:00 0 [vvar]\n"))
	f.Fuzz(func(t *testing.T, maps []byte) {
		var out [4]span
		n := imageSpans(maps, &out)
		if n < 0 || n > len(out) {
			t.Fatalf("%d spans", n)
		}
		for _, s := range out[:n] {
			if s.start >= s.end {
				t.Fatalf("span %#x-%#x", s.start, s.end)
			}
		}
	})
}

// residentOf returns the size and resident size, in kB, of the mapping
// starting at addr (/proc/self/smaps).
func residentOf(t *testing.T, addr uintptr) (size, rss int) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := strconv.FormatUint(uint64(addr), 16) + "-"
	found, seen := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !found {
			found = strings.HasPrefix(strings.TrimLeft(line, "0"), strings.TrimLeft(want, "0"))
			continue
		}
		key, v, _ := strings.Cut(line, ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.Atoi(fields[0])
		switch key {
		case "Size":
			size = n
		case "Rss":
			rss = n
		default:
			continue
		}
		if err != nil {
			t.Fatalf("%s: %q", key, line)
		}
		if seen++; seen == 2 {
			return size, rss
		}
	}
	t.Fatalf("no mapping starts at %#x (%v)", addr, sc.Err())
	return
}

// kernelBefore reports whether the running kernel is older than
// major.minor.
func kernelBefore(t *testing.T, major, minor int) bool {
	t.Helper()
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	parts := strings.SplitN(string(b), ".", 3)
	if len(parts) < 2 {
		t.Fatalf("kernel release %q", b)
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return ma < major || ma == major && mi < minor
}

// TestFaultCost: the init measured what a first touch of a page costs
// here — more than nothing, less than a millisecond — and a measure now
// does too (which side of slowFault either falls on, a busy machine moves).
func TestFaultCost(t *testing.T) {
	if touchCost <= 0 || touchCost > time.Millisecond {
		t.Fatalf("init measured a first touch at %v", touchCost)
	}
	if d := faultCost(); d <= 0 || d > time.Millisecond {
		t.Fatalf("faultCost() = %v", d)
	}
}
