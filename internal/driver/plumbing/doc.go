// Package plumbing is what every driver needs around its cloud's calls, so that no driver copies
// another's: the ledger of the components an apply has made so far, bounded concurrent runs whose
// failures never hide a success, retries and polls within deadlines, tag diffs, not-found handling
// and deletion in rounds. It knows no cloud: a driver passes in its own error codes, its private
// state keys and its components' order.
package plumbing
