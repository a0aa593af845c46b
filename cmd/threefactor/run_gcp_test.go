package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/threefactor/terraform-provider-threefactor/acctest"
	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner"
)

// runGCPConfig is a paused Google handler of examples/handler-go-gcp, applied through the kit.
const runGCPConfig = `
terraform {
  required_providers {
    threefactor = { source = "threefactor/threefactor" }
  }
}

variable "threefactor_gcp_endpoint" {
  type = string
}

provider "threefactor" {
  gcp = {
    # The kit's stack serves every API but Firestore's data plane, which is the Firestore emulator.
    endpoints = merge({
      for api in ["functions", "iam", "run", "pubsub", "resourcemanager", "firestore_admin"] : api => var.threefactor_gcp_endpoint
    }, { firestore = "http://%s" })
  }
}

resource "threefactor_eventhandler" "orders" {
  name  = "orders"
  cloud = "gcp"
  function = {
    runtime     = "go"
    entry_point = "HandleOrders"
    source_dir  = %q
    timeout_s   = 10
    environment = { ORDERS_COLLECTION = "orders" }
  }
  trigger = { enabled = false }
}
`

// TestRunGCP: `threefactor run` finds a Google handler applied through the emulator kit in
// `tofu show -json`, rebuilds its environment, and delivers a duplicated event to
// examples/handler-go-gcp from the kit's Pub/Sub emulator; `threefactor dlq` lists no dead letter.
func TestRunGCP(t *testing.T) {
	acctest.Setup(t)
	work := t.TempDir()
	kitDir := startTestKit(t, work, "gcp")
	src, err := filepath.Abs("../../examples/handler-go-gcp")
	if err != nil {
		t.Fatal(err)
	}
	env := readEnv(t, filepath.Join(kitDir, envFile))
	config := filepath.Join(work, "config")
	writeFiles(t, config, map[string]string{"main.tf": fmt.Sprintf(runGCPConfig, env["FIRESTORE_EMULATOR_HOST"], src)})
	tofu := kitTofu(t, work, kitDir, config)
	tofu("apply", "-auto-approve", "-input=false", "-no-color")
	t.Cleanup(func() { tofu("destroy", "-auto-approve", "-input=false", "-no-color") })
	hs, err := runner.Handlers([]byte(tofu("show", "-json", "-no-color")), config)
	if err != nil || len(hs) != 1 {
		t.Fatalf("handlers = %+v, %v", hs, err)
	}
	topics, err := pubsub.NewTopicAdminClient(context.Background(), gcloud.ClientOptions(env["PUBSUB_EMULATOR_HOST"])...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = topics.Close() }()
	for _, id := range []string{"e1", "e1", "e2"} {
		if _, err := topics.Publish(context.Background(), &pubsubpb.PublishRequest{Topic: hs[0].Topic, Messages: []*pubsubpb.PubsubMessage{{
			Data:       []byte(`{"order_id":"o-1","status":"placed"}`),
			Attributes: map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-source": "/shop/orders", "ce-sequence": strings.TrimPrefix(id, "e")},
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	bin := kitBinary(t)
	tofuBin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	var stdout, stderr bytes.Buffer
	cmd := kitCommand(work, kitDir, config, bin, "run", "--tofu", tofuBin, "--until-drained")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("threefactor run: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var last runner.Stats
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.State != "drained" || last.Received != 3 || last.Succeeded != 3 || last.Applied != 2 || last.Duplicates != 1 {
		t.Errorf("tally %+v; want 3 received and succeeded, 2 applied, 1 duplicate\n%s", last, stderr.String())
	}
	out, err := kitCommand(work, kitDir, config, bin, "dlq", "--tofu", tofuBin, "orders", "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 dead letters of orders") {
		t.Errorf("dlq list: %v\n%s", err, out)
	}
}
