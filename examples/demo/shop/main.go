// Command shop is the demo's side of the story (scripts/demo.sh): it sends the burst of order
// events and checks what the runner reports and what the tables and queues hold afterwards. It
// reaches the emulator at AWS_ENDPOINT_URL.
//
//	shop burst QUEUE_URL                     sends the burst (duplicates, reordering, one poison event)
//	shop tally RUN_OUTPUT [KEY=N|A+B=N]...   prints a run's final counts and checks them
//	shop orders ID=STATUS...                 checks the orders' statuses
//	shop dedup TABLE RUN_OUTPUT...           checks the dedup table holds one record per applied event
//	shop empty QUEUE_URL...                  checks the queues are empty
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/runner"
)

// table is the demo's threefactor_table.
const table = "demo-orders"

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "shop: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: shop burst|tally|orders|dedup|empty [ARG...]")
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		return errors.New("AWS_ENDPOINT_URL is not set")
	}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: &endpoint, Credentials: credentials.NewStaticCredentialsProvider(runner.Credentials())}
	db, q := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	switch args[0] {
	case "burst":
		return burst(ctx, q, args[1])
	case "tally":
		return tally(args[1], args[2:])
	case "orders":
		return orders(ctx, db, args[1:])
	case "dedup":
		return dedup(ctx, db, args[1], args[2:])
	case "empty":
		return empty(ctx, q, args[1:])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// event is one order event: a CloudEvent in binary mode, its sequence zero-padded so that string
// and number order agree.
type event struct {
	id, order, status string
	seq               int
}

// theBurst is sent in this order: o-1's events reordered (3, 1, 2) and its last one twice; o-2
// reordered and duplicated; o-3 duplicated; o-4 placed, then refunded, a status the first release
// does not know (the poison event).
var theBurst = []event{
	{"o1-3", "o-1", "shipped", 3}, {"o2-2", "o-2", "paid", 2}, {"o1-1", "o-1", "placed", 1},
	{"o3-1", "o-3", "placed", 1}, {"o1-3", "o-1", "shipped", 3}, {"o4-1", "o-4", "placed", 1},
	{"o1-2", "o-1", "paid", 2}, {"o4-2", "o-4", "refunded", 2}, {"o2-1", "o-2", "placed", 1},
	{"o3-1", "o-3", "placed", 1}, {"o2-2", "o-2", "paid", 2},
}

func burst(ctx context.Context, q *sqs.Client, queue string) error {
	s := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	for _, e := range theBurst {
		body := fmt.Sprintf(`{"order_id":%q,"status":%q}`, e.order, e.status)
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queue, MessageBody: &body, MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"ce-id": s(e.id), "ce-source": s("/shop/orders"), "ce-type": s("order." + e.status), "ce-sequence": s(fmt.Sprintf("%03d", e.seq)),
		}}); err != nil {
			return err
		}
		fmt.Printf("  sent %-5s %s seq %03d %s\n", e.id, e.order, e.seq, e.status)
	}
	return nil
}

// final is the last counts the run's JSON lines report for the demo's handler.
func final(path string) (runner.Stats, map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return runner.Stats{}, nil, err
	}
	defer func() { _ = f.Close() }()
	var last runner.Stats
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var s runner.Stats
		if json.Unmarshal(sc.Bytes(), &s) == nil && s.Handler == "orders" {
			last = s
		}
	}
	return last, map[string]int64{
		"received": last.Received, "succeeded": last.Succeeded, "failed": last.Failed, "dead_lettered": last.DeadLettered,
		"applied": last.Applied, "duplicates": last.Duplicates, "stale": last.Stale,
	}, nil
}

func tally(path string, checks []string) error {
	s, counts, err := final(path)
	if err != nil {
		return err
	}
	fmt.Printf("  received %d, succeeded %d, failed %d, dead-lettered %d | applied %d, duplicates dropped %d, stale dropped %d (%s)\n",
		s.Received, s.Succeeded, s.Failed, s.DeadLettered, s.Applied, s.Duplicates, s.Stale, s.State)
	var bad []string
	for _, c := range checks {
		keys, want, _ := strings.Cut(c, "=")
		n, err := strconv.ParseInt(want, 10, 64)
		if err != nil {
			return fmt.Errorf("check %q: want KEY=N or A+B=N", c)
		}
		var got int64
		for _, k := range strings.Split(keys, "+") {
			v, ok := counts[k]
			if !ok {
				return fmt.Errorf("check %q: no count %q", c, k)
			}
			got += v
		}
		if got != n {
			bad = append(bad, fmt.Sprintf("%s is %d, want %d", keys, got, n))
		}
	}
	if s.State != "drained" {
		bad = append(bad, "the run ended "+s.State+", not drained")
	}
	if len(bad) > 0 {
		return fmt.Errorf("tally of %s: %s", path, strings.Join(bad, "; "))
	}
	return nil
}

func orders(ctx context.Context, db *dynamodb.Client, want []string) error {
	for _, w := range want {
		id, status, _ := strings.Cut(w, "=")
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: id}}})
		if err != nil {
			return err
		}
		got, _ := out.Item["status"].(*ddbtypes.AttributeValueMemberS)
		if got == nil || got.Value != status {
			return fmt.Errorf("order %s is %v, want %s", id, out.Item["status"], status)
		}
		fmt.Printf("  order %s: %s\n", id, status)
	}
	return nil
}

func dedup(ctx context.Context, db *dynamodb.Client, name string, runs []string) error {
	var applied int64
	for _, r := range runs {
		s, _, err := final(r)
		if err != nil {
			return err
		}
		applied += s.Applied
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: &name, Select: ddbtypes.SelectCount})
	if err != nil {
		return err
	}
	if int64(out.Count) != applied {
		return fmt.Errorf("dedup table %s holds %d records, but %d events were applied: an event was applied twice or not recorded", name, out.Count, applied)
	}
	fmt.Printf("  dedup table: %d records, one per applied event\n", out.Count)
	return nil
}

func empty(ctx context.Context, q *sqs.Client, queues []string) error {
	for _, u := range queues {
		out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &u, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
		if err != nil {
			return err
		}
		for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"} {
			if n := out.Attributes[k]; n != "0" {
				return fmt.Errorf("queue %s: %s = %s, want 0", u, k, n)
			}
		}
	}
	fmt.Printf("  %d queues empty\n", len(queues))
	return nil
}
