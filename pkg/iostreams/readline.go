package iostreams

import "io"

// ReadLine reads up to a newline, a byte at a time, so that nothing past
// the line is consumed (what follows it in a pipe is left for whatever
// reads next), and at most max bytes of it (0: no limit); a carriage
// return is dropped. What was typed before the end of input is the line;
// the end of input with nothing read is io.EOF. The one line reader of a
// prompt's answer and a passphrase typed at a terminal.
func ReadLine(r io.Reader, max int) ([]byte, error) {
	line, _, err := ReadLineEnd(r, max)
	return line, err
}

// ReadLineEnd is ReadLine, also reporting whether the line ended with its
// newline (not the end of input, nor max): a terminal echoed no newline
// after an answer ended by Ctrl-D, which the prompt then writes itself.
func ReadLineEnd(r io.Reader, max int) (line []byte, newline bool, err error) {
	var b [1]byte
	for max <= 0 || len(line) < max {
		n, err := r.Read(b[:])
		if n > 0 {
			if b[0] == '\n' {
				return line, true, nil
			}
			if b[0] != '\r' {
				line = append(line, b[0])
			}
			continue
		}
		if err == io.EOF && len(line) > 0 {
			return line, false, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	return line, false, nil
}
