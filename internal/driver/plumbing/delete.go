package plumbing

import (
	"errors"
	"maps"
	"slices"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

// Round is one round of deletions: for each component, the function that deletes it given its id.
// A deletion must treat "already gone" as success.
type Round map[driver.Component]func(id string) error

// DeleteRounds deletes the components st records, round after round, the members of a round
// concurrently (so a round holds what may go once the rounds before have gone: what feeds the
// function, then the function, then what it used). A member whose component st does not record is
// skipped. Each component deleted is forgotten with the keys owned gives it. A failure does not stop
// later rounds: every component that can go goes, and the state returned holds only what could not
// (with the private keys besides), with the errors joined.
func DeleteRounds(st driver.State, owned OwnedKeys, rounds ...Round) (driver.State, error) {
	l := NewLedger(st, owned)
	errs := make([]error, 0, len(rounds))
	for _, r := range rounds {
		var fs []func() error
		for _, c := range slices.Sorted(maps.Keys(r)) {
			id := l.Get(string(c))
			if id == "" {
				continue
			}
			fs = append(fs, func() error {
				if err := r[c](id); err != nil {
					return err
				}
				l.Forget(c)
				return nil
			})
		}
		errs = append(errs, Concurrently(fs...))
	}
	return l.Snapshot(), errors.Join(errs...)
}
