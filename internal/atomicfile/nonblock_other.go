//go:build !unix

package atomicfile

const oNonblock = 0
