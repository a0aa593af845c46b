package gcptest

import "testing"

// TestParseFilter: the filter forms the harness evaluates where the emulator does not.
func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		filter string
		attrs  map[string]string
		want   bool
	}{
		{"", nil, true},
		{`attributes.type = "a"`, map[string]string{"type": "a"}, true},
		{`attributes.type = "a"`, map[string]string{"type": "b"}, false},
		{`attributes.type = "a"`, nil, false},
		{`attributes.type != "a"`, map[string]string{"type": "b"}, true},
		{`attributes:type`, map[string]string{"type": ""}, true},
		{`NOT attributes:type`, map[string]string{"type": ""}, false},
		{`attributes.type = "a" OR attributes.type = "b"`, map[string]string{"type": "b"}, true},
		{`(attributes.region = "eu") AND (attributes.type = "a" OR attributes.type = "b")`, map[string]string{"type": "b", "region": "us"}, false},
		{`(attributes.region = "eu") AND (attributes.type = "a" OR attributes.type = "b")`, map[string]string{"type": "b", "region": "eu"}, true},
		{`attributes.type = "a \"q\" \\"`, map[string]string{"type": `a "q" \`}, true},
	} {
		m, err := parseFilter(tc.filter)
		if err != nil {
			t.Errorf("parseFilter(%s): %v", tc.filter, err)
			continue
		}
		if got := m(tc.attrs); got != tc.want {
			t.Errorf("%s on %v = %v, want %v", tc.filter, tc.attrs, got, tc.want)
		}
	}
	for _, bad := range []string{`attributes.type = "a" AND attributes.x = "b" OR attributes.y = "c"`, `attributes.type = a`, `(attributes:x`, `type = "a"`} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("parseFilter(%s) accepted", bad)
		}
	}
}
