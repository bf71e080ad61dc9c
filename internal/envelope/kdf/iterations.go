//go:build !testhooks

package kdf

// iterations is fixed in product builds: no flag or variable can lower it.
func iterations() int { return Iterations }
