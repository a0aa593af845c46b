package plumbing_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
)

func TestTagDiff(t *testing.T) {
	set, remove := plumbing.TagDiff(
		map[string]string{"keep": "1", "change": "new", "add": "x"},
		map[string]string{"keep": "1", "change": "old", "drop": "y", "also": "z"},
	)
	if want := map[string]string{"change": "new", "add": "x"}; !maps.Equal(set, want) {
		t.Errorf("set %v, want %v", set, want)
	}
	if want := []string{"also", "drop"}; !slices.Equal(remove, want) {
		t.Errorf("remove %v, want %v (sorted)", remove, want)
	}
}

func TestRetagCallsOnlyWhatIsNeeded(t *testing.T) {
	for _, tc := range []struct {
		name       string
		want, have map[string]string
		untag      []string
		tag        map[string]string
	}{
		{name: "equal", want: map[string]string{"a": "1"}, have: map[string]string{"a": "1"}},
		{name: "none", want: map[string]string{}, have: nil},
		{name: "added", want: map[string]string{"a": "1", "b": "2"}, have: map[string]string{"a": "1"}, tag: map[string]string{"b": "2"}},
		{name: "changed", want: map[string]string{"a": "2"}, have: map[string]string{"a": "1"}, tag: map[string]string{"a": "2"}},
		{name: "removed", want: map[string]string{"a": "1"}, have: map[string]string{"a": "1", "c": "3", "b": "2"}, untag: []string{"b", "c"}},
		{name: "both", want: map[string]string{"a": "2"}, have: map[string]string{"b": "2"}, untag: []string{"b"}, tag: map[string]string{"a": "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			var untagged []string
			var tagged map[string]string
			err := plumbing.Retag(tc.want, tc.have,
				func(keys []string) error { calls = append(calls, "untag"); untagged = keys; return nil },
				func(set map[string]string) error { calls = append(calls, "tag"); tagged = set; return nil })
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if tc.untag != nil {
				want = append(want, "untag")
			}
			if tc.tag != nil {
				want = append(want, "tag")
			}
			if !slices.Equal(calls, want) {
				t.Errorf("calls %v, want %v", calls, want)
			}
			if !slices.Equal(untagged, tc.untag) || !maps.Equal(tagged, tc.tag) {
				t.Errorf("untagged %v and tagged %v, want %v and %v", untagged, tagged, tc.untag, tc.tag)
			}
		})
	}

	// A failed untag stops before the tag call, and its error escapes as it was.
	failed := errors.New("untag refused")
	tagged := false
	err := plumbing.Retag(map[string]string{"a": "1"}, map[string]string{"b": "2"},
		func([]string) error { return failed },
		func(map[string]string) error { tagged = true; return nil })
	if err != failed || tagged {
		t.Errorf("after a failed untag: %v, tag called %v; want the untag error and no tag call", err, tagged)
	}
}
