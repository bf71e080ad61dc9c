package store

import (
	"context"
	"sync/atomic"
)

// Test-only access for the store_test package.

const TempPrefix = tempPrefix

// UnquotedIfMatch reports whether an S3 store switched to unquoted If-Match.
func UnquotedIfMatch(s Store) bool { return s.(*s3Store).unquotedIfMatch.Load() }

// CountAttempts returns a context in which S3 calls count their HTTP attempts.
func CountAttempts(ctx context.Context) (context.Context, *atomic.Int32) {
	n := new(atomic.Int32)
	return context.WithValue(ctx, attemptsKey{}, n), n
}

// LimitsUnsent: the platform bounds the bytes an upload queues unsent.
const LimitsUnsent = limitsUnsent

// ChainLookups is how many times this process looked the AWS chain up.
func ChainLookups() int64 { return chainLookups.Load() }
