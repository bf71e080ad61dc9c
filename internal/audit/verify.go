package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Report is what Verify found in an intact log (or up to the failure).
type Report struct {
	Rows        int // rows checked
	Chained     int // rows carrying "prev"
	Unchained   int // rows without "prev" (written by the TypeScript tool)
	LastChained int // row number of the newest chained row, 0 when none
}

// TamperError names the first row whose chain link does not hold.
type TamperError struct {
	Row    int    // 1-based row number
	Line   int    // 1-based line of the file
	TS     string // the row's ts
	Action string // the row's action
	Reason string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("row %d (%s %s, line %d): %s", e.Row, e.TS, e.Action, e.Line, e.Reason)
}

// VsyncPrefix starts the vsync_version of every row git-vsync writes.
const VsyncPrefix = "git-vsync/"

// Verify walks the log's chain. Each row with "prev" must carry the hex SHA-256
// of every byte before it (header, other rows, line ends: the object as stored).
// Rows without "prev" are unchained, not tampered: the TypeScript tool writes
// them. Because every chained row covers all bytes before it, any edit, deletion,
// insertion or reordering before the newest chained row breaks the first chained
// row after the change, which Verify names in a *TamperError. A row that claims
// to be written by git-vsync (vsync_version git-vsync/…) but has no "prev" is also
// a failure: git-vsync always chains, so its link was stripped.
//
// Not detectable without a trusted copy: changes to the newest chained row
// itself (other than its prev) and to rows after it, removal of rows from the
// end, and a log rewritten wholesale with freshly computed hashes.
//
// A log that does not parse returns Parse's error. An empty log is intact.
func Verify(log []byte) (Report, error) {
	var rep Report
	rows, err := Parse(log)
	if err != nil {
		return rep, err
	}
	h := sha256.New()
	fed := 0
	for i := range rows {
		r := &rows[i]
		prev, chained := r.Prev()
		tamper := func(reason string) error {
			return &TamperError{Row: r.Num, Line: r.Line, TS: r.TS, Action: r.Action, Reason: reason}
		}
		if !chained {
			if strings.HasPrefix(r.VsyncVersion, VsyncPrefix) {
				return rep, tamper("written by git-vsync but its meta has no prev: the chain link was removed")
			}
			rep.Rows++
			rep.Unchained++
			continue
		}
		h.Write(log[fed:r.Offset])
		fed = r.Offset
		want := hex.EncodeToString(h.Sum(nil))
		if !strings.EqualFold(prev, want) {
			return rep, tamper("its prev does not match the log before it: a row before it was edited, deleted, inserted or reordered")
		}
		rep.Rows++
		rep.Chained++
		rep.LastChained = r.Num
	}
	return rep, nil
}
