package output

import "strconv"

// Count is n of noun, in the singular for one: "1 certificate", "3
// certificates" (noun is the singular; its plural adds an s).
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
