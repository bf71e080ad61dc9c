//go:build !unix

package atomicfile

const oNonblock = 0

// oNoFollow: no such flag here; OpenAppend's Lstat and SameFile checks stand in.
const oNoFollow = 0
