package plumbing

import "slices"

// TagDiff returns the tags to set (missing from have, or with another value there) and the keys to
// remove (in have, not in want), sorted, to turn have into want.
func TagDiff(want, have map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			set[k] = v
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	slices.Sort(remove)
	return set, remove
}

// Retag turns a component's tags have into want: it calls untag with the keys to remove, then tag
// with the tags to set, each only when there is something to do, and stops at the first error,
// which it returns as the callback returned it.
func Retag(want, have map[string]string, untag func(keys []string) error, tag func(set map[string]string) error) error {
	set, remove := TagDiff(want, have)
	if len(remove) > 0 {
		if err := untag(remove); err != nil {
			return err
		}
	}
	if len(set) > 0 {
		return tag(set)
	}
	return nil
}
