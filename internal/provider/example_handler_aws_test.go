package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda/awstest"
	"github.com/threefactor/terraform-provider-threefactor/internal/lambdaruntime"
)

// TestAccExamplesAWS_handlerGo deploys examples/handler-go (the handler library's example, a go-runtime
// bootstrap) with the provider, then runs that bootstrap on this machine with exactly the environment
// Lambda holds for it, behind a stand-in of the Lambda runtime API, against the dedup table the
// provider made and the orders table granted through function.tables. It is the contract between the
// provider and the library: variable names, the store URLs, the tables' keys and TTL attribute.
func TestAccExamplesAWS_handlerGo(t *testing.T) {
	arch := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH]
	if runtime.GOOS != "linux" || arch == "" {
		t.Skipf("the bootstrap runs here only on linux/amd64 or linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	b := awsBackend(t)
	h := b.Harness.(*awstest.Harness)
	ctx := context.Background()
	src := buildBootstrap(t)
	cfg := b.provider + fmt.Sprintf(`
resource "threefactor_table" "orders" {
  name          = "shop-orders" # not the grant's name: the program finds it through THREEFACTOR_TABLE_ORDERS
  cloud         = "aws"
  force_destroy = true # the test leaves the order it wrote
}

resource "threefactor_eventhandler" "test" {
  name  = "orders-go"
  cloud = "aws"
  function = {
    runtime      = "go"
    source_dir   = %q
    architecture = %q
    tables       = { orders = { table_id = threefactor_table.orders.table_id, access = "read_write" } }
  }
}
`, src, arch)

	run := func(*terraform.State) error {
		fn, err := h.C.Lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: ptr("orders-go")})
		if err != nil {
			return err
		}
		resp, err := invokeBootstrap(filepath.Join(src, "bootstrap"), fn.Environment.Variables, h.S.Direct, exampleBatch)
		if err != nil {
			return err
		}
		if resp != `{"batchItemFailures":[{"itemIdentifier":"m4"}]}` {
			return fmt.Errorf("response %s, want only the malformed message m4 reported", resp)
		}
		order, err := h.C.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: ptr("shop-orders"),
			Key: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "o-1"}}})
		if err != nil {
			return err
		}
		status, _ := order.Item["status"].(*ddbtypes.AttributeValueMemberS)
		version, _ := order.Item["version"].(*ddbtypes.AttributeValueMemberN)
		if status == nil || status.Value != "shipped" || version == nil || version.Value != "2" {
			return fmt.Errorf("order o-1 is %v, want status shipped at version 2 (the late event 1 dropped)", order.Item)
		}
		// The library's records expire by the attribute the provider's table deletes by.
		dedup := strings.TrimPrefix(strings.SplitN(fn.Environment.Variables["THREEFACTOR_DEDUP_STORE"], "?", 2)[0], "dynamodb://")
		ttl, err := h.C.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &dedup})
		if err != nil {
			return err
		}
		records, err := h.C.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: &dedup})
		if err != nil {
			return err
		}
		attr := *ttl.TimeToLiveDescription.AttributeName
		for _, r := range records.Items {
			if r[attr] == nil {
				return fmt.Errorf("dedup record %v lacks %s, the table's TTL attribute", r, attr)
			}
		}
		if len(records.Items) == 0 {
			return fmt.Errorf("dedup table %s is empty after a batch", dedup)
		}
		return nil
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps:                    []resource.TestStep{{Config: cfg, Check: run}},
	})
}

// exampleBatch is an SQS batch as Lambda delivers it: an order shipped (version 2), the same event
// again, its older "placed" event arriving late, and a malformed message.
var exampleBatch = func() string {
	msg := func(id, ceID, seq, body string) map[string]any {
		attr := func(v string) map[string]any { return map[string]any{"stringValue": v, "dataType": "String"} }
		return map[string]any{
			"messageId": id, "body": body, "eventSource": "aws:sqs",
			"messageAttributes": map[string]any{"ce-id": attr(ceID), "ce-source": attr("/shop/orders"), "ce-sequence": attr(seq)},
		}
	}
	b, _ := json.Marshal(map[string]any{"Records": []any{
		msg("m1", "e2", "2", `{"order_id":"o-1","status":"shipped"}`),
		msg("m2", "e2", "2", `{"order_id":"o-1","status":"shipped"}`),
		msg("m3", "e1", "1", `{"order_id":"o-1","status":"placed"}`),
		msg("m4", "e3", "1", `not json`),
	}})
	return string(b)
}()

// buildBootstrap builds examples/handler-go for this machine and returns the directory holding it.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", filepath.Join(dir, "bootstrap"), ".")
	cmd.Dir = "../../examples/handler-go"
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/handler-go: %v\n%s", err, out)
	}
	return dir
}

// invokeBootstrap runs a custom-runtime bootstrap with env (the function's variables; AWS calls go
// to endpoint) behind the stand-in of the Lambda runtime API, hands it one event and returns the
// function's response.
func invokeBootstrap(bootstrap string, env map[string]string, endpoint, event string) (string, error) {
	api, err := lambdaruntime.New("arn:aws:lambda:us-east-1:123456789012:function:orders-go")
	if err != nil {
		return "", err
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bootstrap)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + api.Addr(),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=" + endpoint,
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return "", err
	}
	resp, err := api.Invoke(ctx, []byte(event), 30*time.Second)
	// It waits for a next event that never comes.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	switch {
	case err != nil:
		return "", fmt.Errorf("%v\nbootstrap output:\n%s", err, logs.String())
	case resp.FunctionError:
		return "", fmt.Errorf("function error %s\nbootstrap output:\n%s", resp.Body, logs.String())
	}
	return string(resp.Body), nil
}
