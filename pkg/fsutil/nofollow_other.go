//go:build !unix

package fsutil

const oNoFollow = 0
