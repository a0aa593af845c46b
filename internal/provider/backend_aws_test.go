package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/threefactor/terraform-provider-threefactor/acctest"
	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda/awstest"
)

// awsBackend runs the real provider, with its real AWS driver, against moto through the provider's
// own endpoint override.
func awsBackend(t *testing.T) *backend {
	acctest.Setup(t)
	s := moto.Require(t)
	h, err := awstest.New(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return &backend{
		Harness: h,
		factories: map[string]func() (tfprotov6.ProviderServer, error){
			"threefactor": providerserver.NewProtocol6WithError(New("test")()),
		},
		provider: fmt.Sprintf(`provider "threefactor" {
  aws = {
    region      = %q
    endpoint    = %q
    max_retries = 2
  }
}
`, awstest.Region, s.URL),
	}
}

func TestAccEventHandlerAWS_basic(t *testing.T) { testBasic(t, awsBackend(t)) }

func TestAccEventHandlerAWS_update(t *testing.T)        { testUpdate(t, awsBackend(t)) }
func TestAccEventHandlerAWS_triggerSwap(t *testing.T)   { testTriggerSwap(t, awsBackend(t)) }
func TestAccEventHandlerAWS_replace(t *testing.T)       { testReplace(t, awsBackend(t)) }
func TestAccEventHandlerAWS_disappears(t *testing.T)    { testDisappears(t, awsBackend(t)) }
func TestAccEventHandlerAWS_failedCreate(t *testing.T)  { testFailedCreate(t, awsBackend(t)) }
func TestAccEventHandlerAWS_importKilled(t *testing.T)  { testImportKilled(t, awsBackend(t)) }
func TestAccEventHandlerAWS_unknownAtPlan(t *testing.T) { testUnknownAtPlan(t, awsBackend(t)) }

// TestAccEventHandlerAWS_wiring reads the created components back through the AWS SDK: what makes a
// handler work on AWS is in their settings, not in Terraform's state.
func TestAccEventHandlerAWS_wiring(t *testing.T) {
	b := awsBackend(t)
	c := b.Harness.(*awstest.Harness).C
	ctx := context.Background()
	src := sourceDir(t)
	checkWiring := func(s *terraformState) error {
		st, err := b.stateOf(s)
		if err != nil {
			return err
		}
		q, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: ptr(st.Get(driver.Queue)),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			return err
		}
		var redrive struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(q.Attributes["RedrivePolicy"]), &redrive); err != nil {
			return fmt.Errorf("queue redrive policy %q: %v", q.Attributes["RedrivePolicy"], err)
		}
		dlq := s.RootModule().Resources[resourceAddr].Primary.Attributes["dead_letter_id"]
		for what, got := range map[string][2]string{
			"redrive target":     {redrive.DeadLetterTargetArn, dlq},
			"max receive count":  {fmt.Sprint(redrive.MaxReceiveCount), "3"},
			"visibility timeout": {q.Attributes["VisibilityTimeout"], "120"},
			"retention":          {q.Attributes["MessageRetentionPeriod"], fmt.Sprint(7 * 86400)},
			"SQS-managed SSE":    {q.Attributes["SqsManagedSseEnabled"], "true"},
		} {
			if got[0] != got[1] {
				return fmt.Errorf("source queue %s = %q, want %q", what, got[0], got[1])
			}
		}
		m, err := c.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: ptr(st.Get(driver.Mapping))})
		if err != nil {
			return err
		}
		if *m.BatchSize != 20 || *m.MaximumBatchingWindowInSeconds != 5 || len(m.FunctionResponseTypes) != 1 || m.FunctionResponseTypes[0] != "ReportBatchItemFailures" {
			return fmt.Errorf("mapping: batch %d, window %d, response types %v; want 20, 5, [ReportBatchItemFailures]", *m.BatchSize, *m.MaximumBatchingWindowInSeconds, m.FunctionResponseTypes)
		}
		table := s.RootModule().Resources[resourceAddr].Primary.Attributes["dedup_table_id"]
		ttl, err := c.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: ptr(table[len("arn:aws:dynamodb:us-east-1:123456789012:table/"):])})
		if err != nil {
			return err
		}
		if ttl.TimeToLiveDescription.TimeToLiveStatus != "ENABLED" || *ttl.TimeToLiveDescription.AttributeName != "expires_at" {
			return fmt.Errorf("dedup table TTL %s on %s, want ENABLED on expires_at", ttl.TimeToLiveDescription.TimeToLiveStatus, *ttl.TimeToLiveDescription.AttributeName)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{{
			Config: b.config("wired", src, `
  trigger     = { batch_size = 20, batch_window_s = 5, visibility_timeout_s = 120 }
  retry       = { max_attempts = 3 }
  dead_letter = { retention_days = 7 }`, ""),
			Check: checkWiring,
		}},
	})
}

func ptr(s string) *string { return &s }

// TestAccEventHandlerAWS_nameTaken: a component whose name is taken by something this state does
// not hold fails the create on that component, says how to import, and leaves nothing behind.
func TestAccEventHandlerAWS_nameTaken(t *testing.T) {
	b := awsBackend(t)
	c := b.Harness.(*awstest.Harness).C
	ctx := context.Background()
	role := "taken--" + awstest.Region
	if _, err := c.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: ptr(role), AssumeRolePolicyDocument: ptr(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy: func(s *terraform.State) error {
			if _, err := c.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: ptr(role)}); err != nil {
				return fmt.Errorf("the role made before the test: %v", err)
			}
			return b.checkNoLeftovers(s)
		},
		Steps: []resource.TestStep{{
			Config:      b.config("taken", sourceDir(t), "", ""),
			ExpectError: regexp.MustCompile(`(?s)Creating IAM role \(taken--us-east-1\).*import\s+the\s+handler.*already\s+exists`),
		}},
	})
}

// TestAccEventHandlerAWS_secretsNotLogged: with every log at TRACE (the provider's and tofu's), a
// secret variable's value appears in no log line.
func TestAccEventHandlerAWS_secretsNotLogged(t *testing.T) {
	const canary = "s3cret-canary-7f3a9c"
	logPath := filepath.Join(t.TempDir(), "trace.log")
	t.Setenv("TF_ACC_LOG_PATH", logPath)
	b := awsBackend(t)
	// As users pass secrets: through a variable (the test harness logs the configuration itself).
	cfg := b.config("secret", sourceDir(t), "", `secret_environment = { API_KEY = var.api_key }`) + `
variable "api_key" {
  type      = string
  sensitive = true
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: b.factories,
		CheckDestroy:             b.checkNoLeftovers,
		Steps: []resource.TestStep{
			{Config: cfg, ConfigVariables: config.Variables{"api_key": config.StringVariable(canary)}},
			{Config: cfg, ConfigVariables: config.Variables{"api_key": config.StringVariable(canary + "-2")}},
		},
	})
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) < 10000 {
		t.Fatalf("trace log holds %d bytes: logging was not on", len(log))
	}
	if i := bytes.Index(log, []byte(canary)); i >= 0 {
		t.Errorf("the secret appears in the trace log: %q", log[max(0, i-300):min(len(log), i+100)])
	}
}
