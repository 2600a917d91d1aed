//go:build !linux

package output

import "io"

// growPipe does nothing where pipe buffers cannot be resized.
func growPipe(io.Writer) {}
