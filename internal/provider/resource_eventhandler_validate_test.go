package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// invalidCase is a configuration the cloud would refuse (and the emulators accept). It must fail at
// plan with a diagnostic whose text names the attribute and what it allows: OpenTofu shows the errors
// of nested attributes on the resource's first line, so the text is all its users see.
type invalidCase struct {
	name, top, function, want string
	// edit, when set, changes the whole configuration.
	edit func(cfg string) string
}

func testInvalid(t *testing.T, b *backend, cases []invalidCase) {
	src := sourceDir(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := b.config("valid", src, tc.top, tc.function)
			if tc.edit != nil {
				cfg = tc.edit(cfg)
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: b.factories,
				Steps: []resource.TestStep{{
					Config:      cfg,
					PlanOnly:    true,
					ExpectError: regexpSpaced(tc.want),
				}},
			})
		})
	}
}

// regexpSpaced matches pattern with any run of white space where it has a space: tofu wraps
// diagnostics at 80 columns.
func regexpSpaced(pattern string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(pattern, " ", `\s+`))
}

func replace(old, with string) func(string) string {
	return func(cfg string) string { return strings.Replace(cfg, old, with, 1) }
}

var sourceLine = regexp.MustCompile(`source_dir = ".*"`)

// source replaces the function's source_dir line with line.
func source(line string) func(string) string {
	return func(cfg string) string { return sourceLine.ReplaceAllLiteralString(cfg, line) }
}

func TestAccEventHandlerAWS_invalid(t *testing.T) {
	long := strings.Repeat("x", 4000)
	notZip := filepath.Join(t.TempDir(), "code.zip")
	if err := os.WriteFile(notZip, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	testInvalid(t, awsBackend(t), []invalidCase{
		{name: "name charset", edit: replace(`"valid"`, `"Bad_Name"`), want: `(?s)Invalid handler name.*name must start with a lowercase letter.*"Bad_Name"`},
		{name: "name separator", edit: replace(`"valid"`, `"orders--x"`), want: `name must not contain "--"`},
		{name: "name length", edit: replace(`"valid"`, `"`+strings.Repeat("a", 41)+`"`), want: `name must be 2-40 characters long`},
		{name: "cloud unknown", edit: replace(`cloud = "aws"`, `cloud = "ibm"`), want: `cloud must be "aws" or "gcp" or "azure", got "ibm"`},
		{name: "runtime", edit: replace(`runtime    = "nodejs22"`, ""), function: `runtime = "ruby3.3"`, want: `(?s)Unsupported runtime.*function.runtime must be one of .*got "ruby3.3"`},
		{name: "java entry point", edit: replace(`runtime    = "nodejs22"`, ""), function: `runtime = "java21"`, want: `function.entry_point is required for runtime java21`},
		{name: "two sources", function: `source_zip = "code.zip"`, want: `Set exactly one of function.source_dir`},
		{name: "source dir missing", edit: source(`source_dir = "/nonexistent/x"`), want: `function.source_dir "/nonexistent/x" does not exist`},
		{name: "source dir empty", edit: source(`source_dir = "` + empty + `"`), want: `function.source_dir ".*": the directory contains no files`},
		{name: "source zip not a zip", edit: source(`source_zip = "` + notZip + `"`), want: `function.source_zip ".*code.zip": not a zip file`},
		{name: "memory", function: `memory_mb = 99999`, want: `function.memory_mb must be between 128 and 10240 MB on aws \(Lambda's memory sizes\), got 99999`},
		{name: "timeout", function: `timeout_s = 901`, want: `function.timeout_s must be between 1 and 900 seconds on aws`},
		{name: "architecture", function: `architecture = "ppc64"`, want: `function.architecture must be one of "x86_64", "arm64" on aws, got "ppc64"`},
		{name: "env key charset", function: `environment = { "1BAD" = "x" }`, want: `(?s)Invalid environment variable.*function.environment key "1BAD"`},
		{name: "env key reserved by lambda", function: `environment = { AWS_REGION = "x" }`, want: `function.environment key "AWS_REGION": this key is reserved by the platform`},
		{name: "secret key reserved", function: `secret_environment = { AWS_REGION = "x" }`, want: `function.secret_environment key "AWS_REGION": this key is reserved by the platform`},
		{name: "env key reserved by provider", function: `environment = { THREEFACTOR_HANDLER = "x" }`, want: `"THREEFACTOR_HANDLER": keys starting with THREEFACTOR_ are reserved`},
		{name: "env key secret and plain", function: `environment = { K1 = "a" }
    secret_environment = { K1 = "b" }`, want: `also set in function.environment`},
		{name: "env too large", function: `environment = { BIG = "` + long + `", BIGGER = "` + long + `" }`, want: `Environment too large`},
		{name: "log retention", function: `log_retention_days = 2`, want: `(?s)function.log_retention_days must be one of 1, 3, 5,.*got\s+2\.`},
		{name: "max concurrency", function: `max_concurrency = 1`, want: `function.max_concurrency must be between 2 and 1000 on aws`},
		{name: "trigger kind", top: `trigger = { kind = "stream" }`, want: `trigger.kind must be "queue" or "topic", got "stream"`},
		{name: "batch without window", top: `trigger = { batch_size = 100 }`, want: `Batching window required`},
		{name: "batch window", top: `trigger = { batch_window_s = 301 }`, want: `trigger.batch_window_s must be between 0 and 300 seconds on aws`},
		{name: "visibility below timeout", top: `trigger = { visibility_timeout_s = 10 }`, want: `trigger.visibility_timeout_s \(10\) must be at least function.timeout_s \(30\)`},
		{name: "fifo source", top: `trigger = { source = "arn:aws:sqs:us-east-1:123456789012:orders.fifo" }`, want: `FIFO sources are not supported`},
		{name: "source of wrong kind", top: `trigger = { source = "arn:aws:sns:us-east-1:123456789012:orders" }`, want: `must be the ARN of an existing SQS standard queue`},
		{name: "max attempts", top: `retry = { max_attempts = 0 }`, want: `retry.max_attempts must be between 1 and 1000 on aws`},
		{name: "retry outlives retention", top: `retry = { max_attempts = 1000 }
  dead_letter = { retention_days = 1 }`, want: `(?s)Retry budget outlives the queue's retention.*retry.max_attempts \(1000\) × trigger.visibility_timeout_s \(180\)`},
		{name: "dead letter retention", top: `dead_letter = { retention_days = 15 }`, want: `dead_letter.retention_days must be between 1 and 14 days on aws`},
		{name: "dedup ttl", top: `dedup = { ttl_s = 10 }`, want: `dedup.ttl_s must be between 60 and 31536000 seconds on aws`},
		{name: "reserved tag", top: `tags = { "threefactor:owner" = "me" }`, want: `(?s)Invalid tag.*tags key "threefactor:owner" is not valid on aws: keys starting with "threefactor:" are reserved`},
		{name: "aws tag key", top: `tags = { "aws:owner" = "me" }`, want: `reserved by AWS`},
		{name: "timeout duration", top: `timeouts = { create = "soon" }`, want: `(?s)Invalid duration.*timeouts.create must be a positive Go duration.*got "soon"`},
		{name: "default tags in the aws block", edit: replace(`aws = {`, `aws = {
    default_tags = { owner = "me" }`),
			want: "(?s)Setting removed.*aws.default_tags.*moved to the provider's top-level `default_tags`"},
	})
}

func TestAccEventHandlerMem_invalid(t *testing.T) {
	b := memBackend(t)
	testInvalid(t, b, []invalidCase{
		{name: "architecture", function: `architecture = "arm64"`, want: `(?s)Setting not available on mem.*function.architecture cannot be set on mem: the mem cloud chooses the instruction set`},
		{name: "log retention", function: `log_retention_days = 7`, want: `function.log_retention_days cannot be set on mem`},
		{name: "batch window", top: `trigger = { batch_window_s = 1 }`, want: `trigger.batch_window_s cannot be set on mem`},
		{name: "memory size", function: `memory_mb = 1024`, want: `function.memory_mb must be one of 512, 2048, 4096 on mem, got 1024`},
		{name: "runtime", function: `runtime = "python3.13"`, edit: replace(`runtime    = "nodejs22"`, ""), want: `function.runtime must be one of "nodejs22", "go" on mem`},
		{name: "name length", edit: replace(`"valid"`, `"`+strings.Repeat("a", 31)+`"`), want: `name must be 2-30 characters long`},
		{name: "max attempts", top: `retry = { max_attempts = 4 }`, want: `retry.max_attempts must be between 5 and 100 on mem \(the mem cloud's delivery attempts\), got 4`},
		{name: "tag key", top: `tags = { Team = "orders" }`, want: `tags key "Team" is not valid on mem: keys are 1-63 lowercase`},
		{name: "reserved tag", top: `tags = { "threefactor-handler" = "x" }`, want: `keys starting with "threefactor-" are reserved`},
		{name: "default tags", edit: replace(`mem = {`, `default_tags = { Owner = "me" }
  mem = {`), want: `default_tags key "Owner" is not valid on mem`},
		{name: "source", top: `trigger = { source = "arn:aws:sqs:us-east-1:123456789012:orders" }`, want: `trigger.source must be the id of an existing queue \(mem/<scope>/queues/<name>\)`},
		{name: "cloud unknown", edit: replace(`cloud = "mem"`, `cloud = "ibm"`), want: `cloud must be "aws" or "gcp" or "azure" or "mem", got "ibm"`},
	})
}

// The settings Google refuses, each with its reason, and its own limits.
func TestAccEventHandlerGCP_invalid(t *testing.T) {
	testInvalid(t, gcpBackend(t), []invalidCase{
		{name: "architecture", function: `architecture = "arm64"`, want: `(?s)Setting not available on gcp.*function.architecture cannot be set on gcp: Cloud Run functions choose the instruction set`},
		{name: "log retention", function: `log_retention_days = 30`, want: `function.log_retention_days cannot be set on gcp: Cloud Logging keeps function logs`},
		{name: "batch window", top: `trigger = { batch_window_s = 1 }`, want: `trigger.batch_window_s cannot be set on gcp: a push subscription delivers each message as it arrives`},
		{name: "batch size", top: `trigger = { batch_size = 10 }`, want: `trigger.batch_size must be between 1 and 1 on gcp \(a push subscription posts one message per request\)`},
		{name: "timeout", function: `timeout_s = 900`, want: `function.timeout_s must be between 1 and 600 seconds on gcp`},
		{name: "memory", function: `memory_mb = 300`, want: `function.memory_mb must be one of 128, 256, 512, 1024`},
		{name: "attempts", top: `retry = { max_attempts = 3 }`, want: `retry.max_attempts must be between 5 and 100 on gcp \(Pub/Sub's max_delivery_attempts\)`},
		{name: "ack deadline below timeout", top: `trigger = { visibility_timeout_s = 20 }`, function: `timeout_s = 60`, want: `trigger.visibility_timeout_s \(20\) is the push request's timeout on gcp`},
		{name: "name too short", edit: replace(`"valid"`, `"abc"`), want: `name must be 4-48 characters long`},
		{name: "label", top: `tags = { Team = "orders" }`, want: `tags key "Team" is not valid on gcp: label keys are 1-63 lowercase`},
		{name: "source", top: `trigger = { source = "arn:aws:sns:us-east-1:1:t" }`, want: `trigger.source must be the name of an existing Pub/Sub topic, projects/<project>/topics/<topic>`},
		{name: "runtime", edit: replace(`runtime    = "nodejs22"`, ""), function: `runtime = "nodejs24"`, want: `function.runtime must be one of "nodejs22", "python3.12", "python3.13", "java21", "go" on gcp`},
	})
}

// The settings Azure refuses, each with its reason, and its own limits.
func TestAccEventHandlerAzure_invalid(t *testing.T) {
	testInvalid(t, azureBackend(t), []invalidCase{
		{name: "architecture", function: `architecture = "arm64"`, want: `(?s)Setting not available on azure.*function.architecture cannot be set on azure: Flex Consumption chooses the instruction set`},
		{name: "log retention", function: `log_retention_days = 7`, want: `(?s)function.log_retention_days must be one of 30, 60, 90, 120,.*on azure, got\s+7\.`},
		{name: "batch window", top: `trigger = { batch_window_s = 1 }`, want: `trigger.batch_window_s cannot be set on azure: the Service Bus trigger delivers each message as it arrives`},
		{name: "min backoff", top: `retry = { min_backoff_s = 10 }`, want: `retry.min_backoff_s cannot be set on azure: Service Bus redelivers as soon as`},
		{name: "batch size", top: `trigger = { batch_size = 10 }`, want: `trigger.batch_size must be between 1 and 1 on azure \(Node and Python batch triggers settle a whole batch together`},
		{name: "memory", function: `memory_mb = 1024`, want: `function.memory_mb must be one of 512, 2048, 4096`},
		{name: "delivery count", top: `retry = { max_attempts = 2001 }`, want: `retry.max_attempts must be between 1 and 2000 on azure \(Service Bus MaxDeliveryCount\)`},
		{name: "lock duration", top: `trigger = { visibility_timeout_s = 301 }`, want: `trigger.visibility_timeout_s must be between 5 and 300 seconds on azure`},
		{name: "lock below timeout", top: `trigger = { visibility_timeout_s = 20 }`, function: `timeout_s = 60`, want: `trigger.visibility_timeout_s \(20\) is the Service Bus lock duration on azure`},
		{name: "name too long", edit: replace(`"valid"`, `"a-name-too-long-for-the-derived-azure-names"`), want: `name must be 3-35 characters long`},
		{name: "tag", top: `tags = { "team/x" = "orders" }`, want: `tags key "team/x" is not valid on azure: Azure tag names are 1-512 characters`},
		{name: "source", top: `trigger = { source = "arn:aws:sqs:us-east-1:1:q" }`, want: `trigger.source must be the ARM id of an existing Service Bus queue`},
		{name: "runtime", edit: replace(`runtime    = "nodejs22"`, ""), function: `runtime = "nodejs24"`, want: `function.runtime must be one of "nodejs22", "python3.12", "java21", "go" on azure`},
	})
}
