//go:build !unix

package fsutil

const oNoFollow = 0

const oNonBlock = 0
