// STATUS: complete against moto: the drivertest conformance suite (8 cases, both kinds) and the unit
// tests pass, race-clean. Left: a brief re-read before reporting a just-created component missing
// (read-after-write lag on real AWS); never run against real AWS.

// Package awslambda realises a spec.Handler on AWS: an IAM role, a CloudWatch Logs group, a Lambda
// function fed by an SQS queue through an event source mapping (the queue optionally subscribed to an
// SNS topic), an SQS dead-letter queue and a DynamoDB dedup table.
//
// State holds the role ARN, the log group name, queue URLs, the topic and subscription ARNs, the
// function ARN, the mapping UUID and the table ARN under their component names, plus the private keys
// in state.go. Queue ARNs are derived from their URLs, so no create needs a read to learn one.
package awslambda
