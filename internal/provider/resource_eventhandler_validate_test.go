package provider

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestAccEventHandler_invalid plans configurations the cloud would refuse (and the emulators accept):
// each must fail at plan with a diagnostic that names the attribute and what it allows. (Tofu quotes
// the resource block for attributes nested in objects; TestProblemDiagPaths checks the exact paths.)
func TestAccEventHandler_invalid(t *testing.T) {
	b := memBackend(t)
	src := sourceDir(t)
	long := strings.Repeat("x", 4000)
	cases := []struct {
		name, top, function, want string
	}{
		{"name charset", "", "", `(?s)Invalid handler name.*name must start with a lowercase letter.*"Bad_Name"`},
		{"name separator", "", "", `name must not contain "--"`},
		{"cloud not implemented", "", "", `(?s)Cloud not supported yet.*cloud "gcp" is declared`},
		{"runtime", "", `runtime = "ruby3.3"`, `(?s)Unsupported runtime.*function.runtime must be one of .*got "ruby3.3"`},
		{"java entry point", "", `runtime = "java21"`, `Missing entry point`},
		{"two sources", "", `source_zip = "code.zip"`, `Set exactly one of function.source_dir`},
		{"memory", "", `memory_mb = 99999`, `function.memory_mb must be between 128 and 10240 MB, got 99999`},
		{"timeout", "", `timeout_s = 901`, `function.timeout_s must be between 1 and 900 seconds, got 901`},
		{"architecture", "", `architecture = "ppc64"`, `function.architecture must be one of "x86_64", "arm64", got "ppc64"`},
		{"env key charset", "", `environment = { "1BAD" = "x" }`, `Invalid environment variable(?s).*"1BAD"`},
		{"env key reserved by lambda", "", `environment = { AWS_REGION = "x" }`, `reserved by the platform`},
		{"env key reserved by provider", "", `environment = { THREEFACTOR_HANDLER = "x" }`, `"THREEFACTOR_HANDLER": keys starting with THREEFACTOR_ are reserved`},
		{"env key secret and plain", "", `environment = { K1 = "a" }
    secret_environment = { K1 = "b" }`, `also set in function.environment`},
		{"env too large", "", `environment = { BIG = "` + long + `", BIGGER = "` + long + `" }`, `Environment too large`},
		{"log retention", "", `log_retention_days = 2`, `(?s)function.log_retention_days must be one of 1, 3, 5,.*got\s+2\.`},
		{"max concurrency", "", `max_concurrency = 1`, `function.max_concurrency must be between 2 and 1000, got 1`},
		{"trigger kind", `trigger = { kind = "stream" }`, "", `trigger.kind must be "queue" or "topic", got "stream"`},
		{"batch without window", `trigger = { batch_size = 100 }`, "", `Batching window required`},
		{"batch window", `trigger = { batch_window_s = 301 }`, "", `trigger.batch_window_s must be between 0 and 300 seconds, got 301`},
		{"visibility below timeout", `trigger = { visibility_timeout_s = 10 }`, "", `trigger.visibility_timeout_s \(10\) must be at least function.timeout_s \(30\)`},
		{"fifo source", `trigger = { source = "arn:aws:sqs:us-east-1:123456789012:orders.fifo" }`, "", `FIFO sources are not supported`},
		{"source of wrong kind", `trigger = { source = "arn:aws:sns:us-east-1:123456789012:orders" }`, "", `must be the ARN of an existing SQS standard queue`},
		{"max attempts", `retry = { max_attempts = 0 }`, "", `retry.max_attempts must be between 1 and 1000, got 0`},
		{"retry outlives retention", `retry = { max_attempts = 1000 }
  dead_letter = { retention_days = 1 }`, "", `(?s)Retry budget outlives the queue's retention.*retry.max_attempts \(1000\) × trigger.visibility_timeout_s \(180\)`},
		{"dead letter retention", `dead_letter = { retention_days = 15 }`, "", `dead_letter.retention_days must be between 1 and 14 days, got 15`},
		{"dedup ttl", `dedup = { ttl_s = 10 }`, "", `dedup.ttl_s must be between 60 and 31536000 seconds, got 10`},
		{"reserved tag", `tags = { "threefactor:owner" = "me" }`, "", `Reserved tag key`},
		{"timeout duration", `timeouts = { create = "soon" }`, "", `(?s)Invalid duration.*"soon" must be a positive Go duration`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := b.config("valid", src, tc.top, tc.function)
			switch tc.name {
			case "name charset":
				cfg = strings.Replace(cfg, `"valid"`, `"Bad_Name"`, 1)
			case "name separator":
				cfg = strings.Replace(cfg, `"valid"`, `"orders--x"`, 1)
			case "cloud not implemented":
				cfg = strings.Replace(cfg, `cloud = "aws"`, `cloud = "gcp"`, 1)
			case "runtime", "java entry point":
				cfg = strings.Replace(cfg, `runtime    = "nodejs22"`, "", 1)
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: b.factories,
				Steps: []resource.TestStep{{
					Config:      cfg,
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}
