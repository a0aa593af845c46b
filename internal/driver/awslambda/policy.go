package awslambda

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// policy is an IAM policy document, marshalled with fields in a fixed order so that the same inputs
// always give the same bytes.
type policy struct {
	Version   string
	Statement []statement
}

type statement struct {
	Sid       string            `json:",omitempty"`
	Effect    string            `json:""`
	Principal map[string]string `json:",omitempty"`
	Action    []string
	Resource  []string                     `json:",omitempty"`
	Condition map[string]map[string]string `json:",omitempty"`
}

func (p policy) String() string {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // only strings and maps of strings
	}
	return string(b)
}

// trustPolicy lets Lambda assume the role.
func trustPolicy() string {
	return policy{Version: "2012-10-17", Statement: []statement{{
		Effect: "Allow", Principal: map[string]string{"Service": "lambda.amazonaws.com"}, Action: []string{"sts:AssumeRole"},
	}}}.String()
}

// grants are the ARNs the function's role may touch, and nothing else.
type grants struct {
	logGroupARN string // arn:...:log-group:/aws/lambda/<fn>
	queueARN    string
	kmsKeyARN   string // the key of an adopted KMS-encrypted queue, or ""
	tableARN    string
	// tables are the app's tables the handler is granted, by grant name.
	tables map[string]spec.TableGrant
}

// tableActions are the DynamoDB actions of each access level: what the runtime library calls on a
// state table (GetItem; UpdateItem, alone or inside TransactWriteItems, whose condition checks need
// ConditionCheckItem) and the reads and writes handlers commonly add.
var tableActions = map[spec.Access][]string{
	spec.Read: {"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query"},
	spec.ReadWrite: {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
		"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
}

// tableSid is the statement id of the grant named name: IAM allows only letters and digits, and
// names are lowercase, so "U" stands for "_" unambiguously.
func tableSid(name string) string { return "Table" + strings.ReplaceAll(name, "_", "U") }

// rolePolicy is the role's one inline policy: write its own logs, consume its queue (as the event
// source mapping does on the role's behalf), use its dedup table and the tables it is granted.
func rolePolicy(g grants) string {
	ss := []statement{{
		Sid: "Logs", Effect: "Allow", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		Resource: []string{g.logGroupARN + ":*"},
	}, {
		Sid: "Queue", Effect: "Allow", Action: []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
		Resource: []string{g.queueARN},
	}}
	if g.kmsKeyARN != "" {
		ss = append(ss, statement{Sid: "QueueKey", Effect: "Allow", Action: []string{"kms:Decrypt"}, Resource: []string{g.kmsKeyARN}})
	}
	ss = append(ss, statement{
		Sid: "Dedup", Effect: "Allow",
		Action:   []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
		Resource: []string{g.tableARN},
	})
	for _, name := range sortedKeys(g.tables) {
		t := g.tables[name]
		ss = append(ss, statement{Sid: tableSid(name), Effect: "Allow", Action: tableActions[t.Access], Resource: []string{t.TableID}})
	}
	return policy{Version: "2012-10-17", Statement: ss}.String()
}

// queuePolicy lets only the topic send to the queue.
func queuePolicy(queueARN, topicARN string) string {
	return policy{Version: "2012-10-17", Statement: []statement{{
		Sid: "TopicSend", Effect: "Allow", Principal: map[string]string{"Service": "sns.amazonaws.com"},
		Action: []string{"sqs:SendMessage"}, Resource: []string{queueARN},
		Condition: map[string]map[string]string{"ArnEquals": {"aws:SourceArn": topicARN}},
	}}}.String()
}

// sameJSON compares two JSON documents by value. IAM returns documents URL-encoded; both forms are
// accepted. An empty document equals only an empty one.
func sameJSON(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	var va, vb any
	return json.Unmarshal([]byte(decodeDoc(a)), &va) == nil && json.Unmarshal([]byte(decodeDoc(b)), &vb) == nil && reflect.DeepEqual(va, vb)
}

func decodeDoc(s string) string {
	if strings.HasPrefix(s, "%7B") || strings.HasPrefix(s, "%7b") {
		if d, err := url.QueryUnescape(s); err == nil {
			return d
		}
	}
	return s
}

// policyTopic returns the topic a queue policy made by queuePolicy admits, or "".
func policyTopic(doc string) string {
	var p struct {
		Statement []struct {
			Condition map[string]map[string]string
		}
	}
	if json.Unmarshal([]byte(decodeDoc(doc)), &p) != nil {
		return ""
	}
	for _, s := range p.Statement {
		if arn := s.Condition["ArnEquals"]["aws:SourceArn"]; arn != "" {
			return arn
		}
	}
	return ""
}

// grantOf returns the table and the access level the policy doc grants under the statement of the
// grant named name: no table when there is none, no access when its actions are not one level's.
func grantOf(doc, name string) (string, spec.Access) {
	var p struct {
		Statement []struct {
			Sid      string
			Action   []string
			Resource []string
		}
	}
	if json.Unmarshal([]byte(decodeDoc(doc)), &p) != nil {
		return "", ""
	}
	for _, s := range p.Statement {
		if s.Sid != tableSid(name) || len(s.Resource) != 1 {
			continue
		}
		for access, actions := range tableActions {
			if reflect.DeepEqual(s.Action, actions) {
				return s.Resource[0], access
			}
		}
		return s.Resource[0], ""
	}
	return "", ""
}
