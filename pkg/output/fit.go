package output

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/charmbracelet/x/ansi"
)

// ShortID is the UUID at the end of an ARN (an ARN's resource ID), as
// tables show it; anything without a slash is returned as it is.
func ShortID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// cellPadding is the space writeTable's renderer puts around every cell:
// one column on either side.
const cellPadding = 2

// minPrefix is the shortest a UUID is cut to in a table that does not fit:
// eight hexadecimal digits, which every command takes as the UUID's prefix
// (it takes six and more) and which two certificates of one vault rarely
// share; a longer prefix is used when two IDs of the table share eight.
const minPrefix = 8

// minTruncated is the narrowest a column of free text is cut to: narrower,
// a value says nothing.
const minTruncated = 8

// idPattern matches a cell that is only identifiers: a UUID or an ARN
// ending in one, or a comma-separated list of them (audit list's
// RESOURCES).
var idPattern = sync.OnceValue(func() *regexp.Regexp {
	const id = `(?:arn:[!-~]*/)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	return regexp.MustCompile(`^` + id + `(?:,` + id + `)*$`)
})

// fixedPattern matches a value that is cut only when cutting free text
// was not enough: a word of an enumeration (ISSUED, EC_prime256v1,
// RequestCertificate), a timestamp or a relative time (timeutil.Relative:
// "in 3 days", "2 hours ago", "now"), which cut short would read as
// another value or as nothing.
var fixedPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:[A-Za-z0-9_]+|\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?(?:Z| UTC)?|in \d+ [a-z]+|\d+ [a-z]+ ago)$`)
})

// wholePattern matches a value a user copies as it is and that is no
// identifier fitTable can shorten: a URL (endpoint list's ACME directory,
// given to certbot --server), or a timestamp, which cut reads as nothing
// ("2026-12…": audit list's TIME, ca list's NOT AFTER). The table's other
// columns are cut, or left out (Table.Optional), first (tester: the
// directory URL was cut at every common width, the times at 60 columns);
// only a table that still does not fit shows a timestamp shorter (without
// its seconds, then its date: shortTime). A URL is never cut.
var wholePattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + urlExpr + `|` + timeExpr + `)$`)
})

// urlExpr and timeExpr are a URL and a timestamp as tables show them
// (wholePattern, urlPattern, timePattern): the timestamp's date, separator,
// hours and minutes, seconds and zone each a group.
const (
	urlExpr  = `[a-z][a-z0-9+.-]*://[!-~]+`
	timeExpr = `(\d{4}-\d\d-\d\d)([T ])(\d\d:\d\d)(:\d\d)?(Z| UTC)?`
)

// tailMark separates a cell's text from the end WithTail keeps: a control
// character, which no text from outside reaches a table with (Sanitize
// escapes them).
const tailMark = "\x1f"

// WithTail is a table cell showing text then tail, of which a table cut to
// fit a terminal cuts only text: a marker that says more about the text
// (list's "+2": two more names) is not cut off with it (tester: a long
// name cut lost its "+2").
func WithTail(text, tail string) string { return text + tailMark + tail }

// fitTable makes rows (whose cells are ready to print, styles included)
// fit width columns of a terminal, as gh and kubectl fit theirs: first every
// cell that is only identifiers shows each as its shortest prefix of at
// least minPrefix digits that is unique in the table; if the table is
// still too wide, the widest column of free text is cut, with an ellipsis,
// to what fits (but not below minTruncated or its header), then the next
// widest, and so on; columns of enumeration words and timestamps
// (fixedPattern) only after all free text. When all those are as narrow
// as they go, timestamps lose their seconds, then their time (shortTime),
// and last the columns kept (Table.Keep, not a URL) are cut, widest
// first (cutWhole): a row is one line of the terminal. Rows are never
// wrapped: a table that cannot fit even so (a very narrow terminal) is
// left wider than the terminal. The last column's padding is not counted:
// writeTable trims it.
// tails (nil, or a row's nil: none) are what follows each cell, counted in
// its width but never cut (WithTail).
func fitTable(headers []string, rows, tails [][]string, width int, keep ...string) {
	tailWidth := tailWidths(tails)
	width++
	ncols := len(headers)
	for _, r := range rows {
		ncols = max(ncols, len(r))
	}
	widths := func() ([]int, int) {
		w := make([]int, ncols)
		for i, h := range headers {
			w[i] = ansi.StringWidth(h)
		}
		for k, r := range rows {
			for i, c := range r {
				w[i] = max(w[i], ansi.StringWidth(c)+tailWidth(k, i))
			}
		}
		total := 0
		for _, x := range w {
			total += x + cellPadding
		}
		return w, total
	}
	if _, total := widths(); total <= width {
		return
	}

	idColumn, fixed, whole := columnKinds(rows, ncols)
	for i, h := range headers {
		// A column the table keeps whole: what the user types back (a
		// setting's key) or tells rows apart by (tester: config list
		// cut its keys, events its event types).
		if slices.Contains(keep, h) {
			whole[i] = true
		}
	}
	ids := map[string]bool{}
	for _, r := range rows {
		for _, c := range r {
			if c != "" && idPattern().MatchString(c) {
				for _, id := range strings.Split(c, ",") {
					ids[ShortID(id)] = true
				}
			}
		}
	}
	if len(ids) > 0 {
		n := uniquePrefix(ids)
		for _, r := range rows {
			for i, c := range r {
				if c == "" || !idPattern().MatchString(c) {
					continue
				}
				parts := strings.Split(c, ",")
				for j, id := range parts {
					parts[j] = ShortID(id)[:n]
				}
				r[i] = strings.Join(parts, ",")
			}
		}
	}

	stuck := make([]bool, ncols) // columns no cut makes narrower
	for {
		w, total := widths()
		if total <= width {
			return
		}
		// Free text first, then lists of identifiers (their first IDs
		// kept), then enumeration words and timestamps.
		widest, lists := -1, false
		for pass := 0; pass < 3 && widest < 0; pass++ {
			for i := range ncols {
				var cuttable bool
				switch pass {
				case 0:
					cuttable = !(idColumn[i] && columnHasValues(rows, i)) && !fixed[i] && w[i] > floor(headers, i)
				case 1:
					cuttable = idColumn[i] && w[i] > listFloor(headers, rows, i)
				case 2:
					cuttable = !(idColumn[i] && columnHasValues(rows, i)) && fixed[i] && w[i] > floor(headers, i)
				}
				if cuttable && !stuck[i] && !whole[i] && (widest < 0 || w[i] > w[widest]) {
					widest, lists = i, pass == 1
				}
			}
		}
		if widest < 0 {
			// Everything else is as narrow as it goes: the last resorts
			// (tester: ca list with a long COMMON NAME, endpoint list's
			// URL, audit list's list of resources overflowed at 60 and
			// 80 columns).
			if !shortenTimes(rows, w, whole) && !cutWhole(headers, rows, tails, w, whole, stuck, total-width) {
				return
			}
			continue
		}
		if lists {
			target := max(listFloor(headers, rows, widest), w[widest]-(total-width))
			for _, r := range rows {
				if widest < len(r) {
					r[widest] = cutIDList(r[widest], target)
				}
			}
			continue
		}
		target := max(floor(headers, widest), w[widest]-(total-width))
		if !truncateColumn(rows, widest, target, tailWidth) {
			stuck[widest] = true // a tail wider than the column may get
		}
	}
}

// timePattern matches a timestamp as tables show it (fixedPattern,
// wholePattern): its date, the separator, the hours and minutes, the
// seconds and the zone.
var timePattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^` + timeExpr + `$`)
})

// shortTime is timestamp t one step shorter: without its seconds
// ("2026-12-07T16:43Z"), then its date alone ("2026-12-07"); either still
// reads as the same time, which a timestamp cut with an ellipsis does not.
func shortTime(t string) string {
	m := timePattern().FindStringSubmatch(t)
	switch {
	case m == nil:
		return t
	case m[4] != "":
		return m[1] + m[2] + m[3] + m[5]
	}
	return m[1]
}

// shortenTimes shortens, one step (shortTime), the widest column of
// timestamps (all whole columns: wholePattern) of rows whose widths are w,
// and reports whether it did.
func shortenTimes(rows [][]string, w []int, whole []bool) bool {
	best := -1
	for i := range w {
		if !whole[i] || !columnHasValues(rows, i) {
			continue
		}
		times, shorter := true, false
		for _, r := range rows {
			if i >= len(r) || r[i] == "" {
				continue
			}
			plain := ansi.Strip(r[i])
			times = times && timePattern().MatchString(plain)
			shorter = shorter || shortTime(plain) != plain
		}
		if times && shorter && (best < 0 || w[i] > w[best]) {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	for _, r := range rows {
		if best < len(r) && r[best] != "" {
			plain := ansi.Strip(r[best])
			r[best] = strings.Replace(r[best], plain, shortTime(plain), 1)
		}
	}
	return true
}

// urlPattern matches a URL (wholePattern's first form).
var urlPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^` + urlExpr + `$`)
})

// cutWhole cuts with an ellipsis, by over columns at most, the widest
// column of rows (widths w) that is kept whole while the rest of the table
// can be cut (a Keep column such as ca list's COMMON NAME; never a URL,
// which a user copies from the table — endpoint list's directory, given
// to certbot --server: a row wider than the terminal wraps, and the URL
// still copies whole — nor timestamps, shortened instead, nor
// identifiers), not below its floor, and reports whether it cut: a table
// wider than the terminal wraps every row, which is worse than a name cut
// short whose whole is in describe and -o json. A column whose
// cells cannot get narrower (their tails) is marked stuck and reported as
// cut: the caller looks further.
func cutWhole(headers []string, rows, tails [][]string, w []int, whole, stuck []bool, over int) bool {
	best := -1
	for i := range w {
		if !whole[i] || stuck[i] || !columnHasValues(rows, i) || w[i] <= floor(headers, i) {
			continue
		}
		times, ids, urls := true, true, true
		for _, r := range rows {
			if i < len(r) && r[i] != "" {
				times = times && timePattern().MatchString(ansi.Strip(r[i]))
				ids = ids && idPattern().MatchString(r[i])
				urls = urls && urlPattern().MatchString(ansi.Strip(r[i]))
			}
		}
		if !times && !ids && !urls && (best < 0 || w[i] > w[best]) {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	if !truncateColumn(rows, best, max(floor(headers, best), w[best]-over), tailWidths(tails)) {
		stuck[best] = true // a tail wider than the column may get
	}
	return true
}

// tailWidths is the width of the tail of row k's cell j (WithTail), 0
// when it has none.
func tailWidths(tails [][]string) func(k, j int) int {
	return func(k, j int) int {
		if k < len(tails) && j < len(tails[k]) {
			return ansi.StringWidth(tails[k][j])
		}
		return 0
	}
}

// truncateColumn cuts column col of rows with an ellipsis so that each
// cell with its tail (tailWidth of row k, column col) is at most target
// columns wide, and reports whether a cell got narrower.
func truncateColumn(rows [][]string, col, target int, tailWidth func(k, j int) int) bool {
	cut := false
	for k, r := range rows {
		tw := tailWidth(k, col)
		if col < len(r) && ansi.StringWidth(r[col])+tw > target {
			before := ansi.StringWidth(r[col])
			r[col] = ansi.Truncate(r[col], max(1, target-tw), "…")
			cut = cut || ansi.StringWidth(r[col]) < before
		}
	}
	return cut
}

// columnKinds says of each of the ncols columns of rows whether every
// value in it is identifiers (idPattern: a UUID, an ARN, a list of them),
// whether every value is fixed (fixedPattern: an enumeration word, a
// timestamp) and whether every value is kept whole (wholePattern: a URL);
// empty cells count for all three, and a column of empty cells is not
// whole.
func columnKinds(rows [][]string, ncols int) (ids, fixed, whole []bool) {
	ids, fixed, whole = make([]bool, ncols), make([]bool, ncols), make([]bool, ncols)
	seen := make([]bool, ncols)
	for i := range ncols {
		ids[i], fixed[i], whole[i] = true, true, true
	}
	for _, r := range rows {
		for i := range ncols {
			if i >= len(r) || r[i] == "" {
				continue
			}
			seen[i] = true
			fixed[i] = fixed[i] && fixedPattern().MatchString(ansi.Strip(r[i]))
			ids[i] = ids[i] && idPattern().MatchString(r[i])
			whole[i] = whole[i] && wholePattern().MatchString(ansi.Strip(r[i]))
		}
	}
	for i := range ncols {
		whole[i] = whole[i] && seen[i]
	}
	return ids, fixed, whole
}

// dropOptional leaves out of a table wider than width its optional
// columns (headers), in their order, until it would fit with every column
// of free text cut to half its width at most and identifiers to their
// prefixes, as fitTable cuts them: a narrow terminal then shows fewer
// columns whole, rather than every column cut short (tester: list at 60
// columns cut DOMAIN, KEY and EXPIRES to eight characters). fitTable then
// fits what is left. Nothing is left out of a table that fits.
func dropOptional(headers, optional, keep []string, rows, tails [][]string, width int) ([]string, [][]string, [][]string) {
	if len(optional) == 0 {
		return headers, rows, tails
	}
	headers = slices.Clone(headers)
	for _, name := range optional {
		if estimateWidth(headers, keep, rows, tails) <= width+1 {
			break
		}
		i := slices.Index(headers, name)
		if i < 0 {
			continue
		}
		headers = slices.Delete(headers, i, i+1)
		for k, r := range rows {
			if i < len(r) {
				rows[k] = slices.Delete(r, i, i+1)
			}
		}
		for k, r := range tails {
			if i < len(r) {
				tails[k] = slices.Delete(r, i, i+1)
			}
		}
	}
	return headers, rows, tails
}

// estimateWidth is the width of a table whose identifiers are cut to
// their prefixes and whose free text is cut to half its width (not below
// its floor), its columns padded. A column the table keeps (keep) is
// counted whole, as fitTable cuts it only when nothing else is left to cut
// (tester: ca list kept its TYPE for a COMMON NAME counted at half its
// width, then cut TYPE and overflowed by a few columns).
func estimateWidth(headers, keep []string, rows, tails [][]string) int {
	ncols := len(headers)
	for _, r := range rows {
		ncols = max(ncols, len(r))
	}
	ids, fixed, whole := columnKinds(rows, ncols)
	for i, h := range headers {
		if slices.Contains(keep, h) {
			whole[i] = true
		}
	}
	total := 0
	for i := range ncols {
		w, head := 0, 0
		if i < len(headers) {
			head = ansi.StringWidth(headers[i])
			w = head
		}
		for k, r := range rows {
			if i >= len(r) || r[i] == "" {
				continue
			}
			tw := 0
			if k < len(tails) && i < len(tails[k]) {
				tw = ansi.StringWidth(tails[k][i])
			}
			w = max(w, ansi.StringWidth(r[i])+tw)
		}
		switch {
		case !columnHasValues(rows, i):
		case whole[i]: // never cut
		case ids[i]:
			// As fitTable cuts them: each to its prefix, a list to its
			// first and ",…".
			w = max(head, min(w, minPrefix+2))
		case !fixed[i]:
			w = min(w, max(floor(headers, i), (w+1)/2))
		}
		total += w + cellPadding
	}
	return total
}

// listFloor is the narrowest column i of identifiers (already cut to
// their prefixes) is cut to: its header, and in each cell the first ID
// followed by ",…" when there are more.
func listFloor(headers []string, rows [][]string, i int) int {
	n := 0
	if i < len(headers) {
		n = ansi.StringWidth(headers[i])
	}
	for _, r := range rows {
		if i >= len(r) {
			continue
		}
		first, _, more := strings.Cut(r[i], ",")
		w := ansi.StringWidth(first)
		if more {
			w += 2
		}
		n = max(n, w)
	}
	return n
}

// cutIDList cuts a comma-separated list of identifiers to at most target
// columns: the first IDs that fit, then ",…"; the first ID always stays.
func cutIDList(c string, target int) string {
	if ansi.StringWidth(c) <= target {
		return c
	}
	parts := strings.Split(c, ",")
	out := parts[0]
	for _, p := range parts[1:] {
		if ansi.StringWidth(out)+1+ansi.StringWidth(p)+2 > target {
			break
		}
		out += "," + p
	}
	return out + ",…"
}

// floor is the narrowest column i of a table is cut to.
func floor(headers []string, i int) int {
	if i < len(headers) {
		return max(minTruncated, ansi.StringWidth(headers[i]))
	}
	return minTruncated
}

// columnHasValues reports whether some row has a value in column i.
func columnHasValues(rows [][]string, i int) bool {
	for _, r := range rows {
		if i < len(r) && r[i] != "" {
			return true
		}
	}
	return false
}

// uniquePrefix is the length of the shortest prefix, at least minPrefix,
// that tells the given IDs apart.
func uniquePrefix(ids map[string]bool) int {
	shortest := -1
	for id := range ids {
		if shortest < 0 || len(id) < shortest {
			shortest = len(id)
		}
	}
	for n := minPrefix; n < shortest; n++ {
		if n == 9 {
			continue // a prefix does not end in the UUID's first hyphen
		}
		seen := make(map[string]bool, len(ids))
		unique := true
		for id := range ids {
			if seen[id[:n]] {
				unique = false
				break
			}
			seen[id[:n]] = true
		}
		if unique {
			return n
		}
	}
	return shortest
}
