package spec

import (
	"fmt"
	"strings"
)

// ARN is the part of an AWS resource name the provider reads.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// ParseARN splits an ARN of the form arn:partition:service:region:account:resource.
func ParseARN(s string) (ARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, false
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

// checkSource checks the shape of an existing trigger source; whether it exists, and lies in the
// provider's region, is the driver's check at plan time.
func checkSource(c Cloud, kind TriggerKind, source string) string {
	if c != AWS {
		return ""
	}
	service := map[TriggerKind]string{Queue: "sqs", Topic: "sns"}[kind]
	a, ok := ParseARN(source)
	switch {
	case !ok || a.Service != service || a.Region == "" || a.Account == "" || strings.Contains(a.Resource, ":"):
		return fmt.Sprintf("trigger.source must be the ARN of an existing %s (arn:aws:%s:<region>:<account>:<name>) for trigger.kind %q, got %q.",
			map[TriggerKind]string{Queue: "SQS standard queue", Topic: "SNS standard topic"}[kind], service, kind, source)
	case strings.HasSuffix(a.Resource, ".fifo"):
		return fmt.Sprintf("FIFO sources are not supported yet: %q ends in .fifo; use a standard %s.", source, map[TriggerKind]string{Queue: "queue", Topic: "topic"}[kind])
	}
	return ""
}
