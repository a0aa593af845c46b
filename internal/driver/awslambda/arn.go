package awslambda

import (
	"fmt"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// arn is the part of an AWS resource name the driver reads.
type arn struct {
	Partition, Service, Region, Account, Resource string
}

// parseARN splits an ARN of the form arn:partition:service:region:account:resource.
func parseARN(s string) (arn, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return arn{}, false
	}
	return arn{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

// checkSource checks the shape of an existing trigger source; whether it exists, and lies in the
// provider's region, is Check's at plan time.
func checkSource(kind spec.TriggerKind, source string) string {
	service := map[spec.TriggerKind]string{spec.Queue: "sqs", spec.Topic: "sns"}[kind]
	a, ok := parseARN(source)
	switch {
	case !ok || a.Service != service || a.Region == "" || a.Account == "" || strings.Contains(a.Resource, ":"):
		return fmt.Sprintf("trigger.source must be the ARN of an existing %s (arn:aws:%s:<region>:<account>:<name>) for trigger.kind %q, got %q.",
			map[spec.TriggerKind]string{spec.Queue: "SQS standard queue", spec.Topic: "SNS standard topic"}[kind], service, kind, source)
	case strings.HasSuffix(a.Resource, ".fifo"):
		return fmt.Sprintf("FIFO sources are not supported yet: %q ends in .fifo; use a standard %s.", source, map[spec.TriggerKind]string{spec.Queue: "queue", spec.Topic: "topic"}[kind])
	}
	return ""
}

// checkTableID checks the shape of a function.tables table_id: a DynamoDB table's ARN.
func checkTableID(id string) string {
	a, ok := parseARN(id)
	if !ok || a.Service != "dynamodb" || a.Region == "" || a.Account == "" || !strings.HasPrefix(a.Resource, "table/") || strings.Count(a.Resource, "/") != 1 {
		return fmt.Sprintf("table_id must be a DynamoDB table's ARN (arn:aws:dynamodb:<region>:<account>:table/<name>), such as a threefactor_table's table_id, got %q.", id)
	}
	return ""
}
