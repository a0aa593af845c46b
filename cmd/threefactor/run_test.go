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
	t.Setenv("PUBSUB_EMULATOR_HOST", "")
	t.Setenv("FIRESTORE_EMULATOR_HOST", "")
	ctx := context.Background()
	// A stand-in tofu that prints an empty state.
	tofu := filepath.Join(t.TempDir(), "tofu")
	if err := os.WriteFile(tofu, []byte("#!/bin/sh\necho '{\"format_version\":\"1.0\"}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// One that prints a Google handler's state.
	gcp := filepath.Join(t.TempDir(), "tofu")
	if err := os.WriteFile(gcp, []byte("#!/bin/sh\ncat <<'EOF'\n"+gcpState+"\nEOF\n"), 0o755); err != nil {
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
		// A Google handler needs the Pub/Sub (and, to run, the Firestore) emulator.
		{[]string{"run", "--tofu", gcp}, 1, "no Google emulators: set PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST"},
		{[]string{"dlq", "--tofu", gcp, "orders", "list"}, 1, "no Pub/Sub emulator: set PUBSUB_EMULATOR_HOST or pass --pubsub"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(ctx, c.args, &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

// gcpState is `tofu show -json` of a Google handler, trimmed to what the runner reads.
const gcpState = `{"format_version":"1.0","values":{"root_module":{"resources":[{"address":"threefactor_eventhandler.orders","type":"threefactor_eventhandler","values":{
 "id":"gcp/shop/europe-west1/orders","name":"orders","cloud":"gcp","function":{"runtime":"go","entry_point":"HandleOrders","source_dir":"fn","timeout_s":10},
 "trigger":{"kind":"queue","enabled":false,"batch_size":1},"retry":{"max_attempts":5},"dedup":{"ttl_s":3600},"publish_target":"projects/shop/topics/orders--queue",
 "components":{"subscription":"projects/shop/subscriptions/orders--push","dead_letter_subscription":"projects/shop/subscriptions/orders--dead-letters",
   "dedup_table":"projects/shop/databases/orders--dedup"}}}]}}}`
