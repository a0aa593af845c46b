package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunMisuse: misuse is exit 2 with the usage; a state with no handler, or a handler the state
// lacks, is exit 1 with a message saying what to do.
func TestRunMisuse(t *testing.T) {
	ctx := context.Background()
	// A stand-in tofu that prints an empty state.
	tofu := filepath.Join(t.TempDir(), "tofu")
	if err := os.WriteFile(tofu, []byte("#!/bin/sh\necho '{\"format_version\":\"1.0\"}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "extra"}, 2, "usage: threefactor run"},
		{[]string{"dlq", "orders"}, 2, "usage:"},
		{[]string{"dlq", "orders", "list", "x"}, 2, "usage:"},
		{[]string{"dlq", "orders", "drop"}, 2, "usage:"},
		{[]string{"run", "--tofu", tofu}, 1, "no threefactor_eventhandler in the state"},
		{[]string{"dlq", "--tofu", tofu, "orders", "list"}, 1, `no handler "orders" in the state`},
		{[]string{"run", "--tofu", filepath.Join(t.TempDir(), "none")}, 1, "--tofu names the binary"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(ctx, c.args, &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}
