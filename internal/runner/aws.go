package runner

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
)

// defaultConcurrency is how many batches a handler without max_concurrency runs at once: the
// number of concurrent batches Lambda starts an SQS event source mapping with.
const defaultConcurrency = 5

// awsDelivery plays one handler's event source mapping.
type awsDelivery struct {
	h        *Handler
	sqs      *sqs.Client
	queueARN string
	proc     process
	dir      string
	env      []string
	prog     *progress
	log      func(string)
	busy     atomic.Int64
	// dlq0 is the dead-letter queue's depth when the run started.
	dlq0 int64
}

// worker receives batches and invokes one sandbox of its own with each, until ctx ends.
func (d *awsDelivery) worker(ctx context.Context) {
	var sb *sandbox
	defer func() {
		if sb != nil {
			sb.stop()
		}
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		msgs, err := d.receive(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log(fmt.Sprintf("receiving from %s: %v (retrying)", d.h.QueueURL, err))
				sleep(ctx, backoff)
				backoff = min(2*backoff, 5*time.Second)
			}
			continue
		}
		backoff = 100 * time.Millisecond
		if len(msgs) > 0 {
			// Received messages are in flight in the queue's counts until deleted or visible
			// again; busy covers the rest of a batch's handling.
			d.busy.Add(1)
			sb = d.deliver(ctx, sb, msgs)
			d.busy.Add(-1)
		}
	}
}

// receive gathers a batch as the mapping does: up to batch_size messages, for at most
// batch_window_s after the first one.
func (d *awsDelivery) receive(ctx context.Context) ([]sqstypes.Message, error) {
	var batch []sqstypes.Message
	var until time.Time
	for int64(len(batch)) < d.h.BatchSize {
		wait := int32(1)
		if len(batch) > 0 {
			left := time.Until(until)
			if left <= 0 {
				break
			}
			if left < time.Second {
				wait = 0
			}
		}
		out, err := d.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: &d.h.QueueURL, MaxNumberOfMessages: int32(min(d.h.BatchSize-int64(len(batch)), 10)), WaitTimeSeconds: wait,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if len(batch) > 0 { // what was received is delivered; the error shows on the next receive
				break
			}
			return nil, err
		}
		if len(batch) == 0 && len(out.Messages) > 0 {
			until = time.Now().Add(time.Duration(d.h.BatchWindowS) * time.Second)
		}
		batch = append(batch, out.Messages...)
		if len(batch) == 0 || d.h.BatchWindowS == 0 {
			break
		}
	}
	return batch, nil
}

// deliver invokes sb (started when nil or dead) with msgs and deletes the messages it
// acknowledged; it returns the sandbox to reuse.
func (d *awsDelivery) deliver(ctx context.Context, sb *sandbox, msgs []sqstypes.Message) *sandbox {
	d.prog.update(d.h.Name, func(s *Stats) { s.Received += int64(len(msgs)) })
	failed, why := d.invoke(ctx, &sb, msgs)
	if ctx.Err() != nil {
		return sb // stopping: the batch becomes visible again, as after a crash
	}
	if why != "" {
		d.log(fmt.Sprintf("batch of %d failed as a whole: %s", len(msgs), why))
	}
	var done []sqstypes.Message
	for _, m := range msgs {
		if !failed[*m.MessageId] {
			done = append(done, m)
		}
	}
	d.prog.update(d.h.Name, func(s *Stats) {
		s.Succeeded += int64(len(done))
		s.Failed += int64(len(msgs) - len(done))
	})
	if err := d.delete(ctx, done); err != nil {
		d.log(fmt.Sprintf("deleting acknowledged messages: %v (they will be delivered again; the dedup table drops them)", err))
	}
	return sb
}

// invoke runs one invocation and returns the ids of the failed messages and, when the whole
// batch failed, why: a function error, a timeout, a crash, or a response that names a message
// not in the batch. Otherwise only batchItemFailures fail.
func (d *awsDelivery) invoke(ctx context.Context, sbp **sandbox, msgs []sqstypes.Message) (map[string]bool, string) {
	all := map[string]bool{}
	for _, m := range msgs {
		all[*m.MessageId] = true
	}
	if *sbp == nil || !(*sbp).alive() {
		sb, err := start(d.h, d.proc, d.dir, d.env, d.prog.outputOf(d.h.Name, d.log))
		if err != nil {
			return all, err.Error()
		}
		*sbp = sb
	}
	resp, err := (*sbp).invoke(ctx, d.event(msgs), time.Duration(d.h.TimeoutS)*time.Second)
	if err != nil {
		if !(*sbp).alive() {
			*sbp = nil
		}
		return all, err.Error()
	}
	if resp.FunctionError {
		return all, "function error " + string(resp.Body)
	}
	return itemFailures(resp.Body, all)
}

// itemFailures reads a partial batch response as Lambda does: no response, null or no
// batchItemFailures acknowledge the whole batch; invalid JSON or an itemIdentifier that is empty
// or not in the batch fails it whole.
func itemFailures(body []byte, batch map[string]bool) (map[string]bool, string) {
	var r struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, ""
	}
	if !json.Valid(body) {
		return batch, "the response is not JSON: " + string(body)
	}
	if body[0] != '{' || json.Unmarshal(body, &r) != nil {
		return nil, "" // not a partial batch response: a success
	}
	failed := map[string]bool{}
	for _, f := range r.BatchItemFailures {
		if f.ItemIdentifier == nil || !batch[*f.ItemIdentifier] {
			return batch, "batchItemFailures names an itemIdentifier that is not a message of the batch: " + string(body)
		}
		failed[*f.ItemIdentifier] = true
	}
	return failed, ""
}

func (d *awsDelivery) delete(ctx context.Context, msgs []sqstypes.Message) error {
	for len(msgs) > 0 {
		n := min(len(msgs), 10)
		var entries []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range msgs[:n] {
			entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		out, err := d.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &d.h.QueueURL, Entries: entries})
		if err != nil {
			return err
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("%d of %d not deleted: %s", len(out.Failed), n, aws.ToString(out.Failed[0].Message))
		}
		msgs = msgs[n:]
	}
	return nil
}

// event is the SQS event Lambda passes for msgs.
func (d *awsDelivery) event(msgs []sqstypes.Message) []byte {
	type attr struct {
		StringValue      *string  `json:"stringValue,omitempty"`
		BinaryValue      *string  `json:"binaryValue,omitempty"`
		StringListValues []string `json:"stringListValues"`
		BinaryListValues []string `json:"binaryListValues"`
		DataType         string   `json:"dataType"`
	}
	type record struct {
		MessageID         string            `json:"messageId"`
		ReceiptHandle     string            `json:"receiptHandle"`
		Body              string            `json:"body"`
		Attributes        map[string]string `json:"attributes"`
		MessageAttributes map[string]attr   `json:"messageAttributes"`
		MD5OfBody         string            `json:"md5OfBody"`
		EventSource       string            `json:"eventSource"`
		EventSourceARN    string            `json:"eventSourceARN"`
		AWSRegion         string            `json:"awsRegion"`
	}
	recs := make([]record, 0, len(msgs))
	for _, m := range msgs {
		r := record{
			MessageID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Attributes: m.Attributes, MessageAttributes: map[string]attr{}, MD5OfBody: aws.ToString(m.MD5OfBody),
			EventSource: "aws:sqs", EventSourceARN: d.queueARN, AWSRegion: d.h.Region,
		}
		for k, a := range m.MessageAttributes {
			v := attr{StringValue: a.StringValue, DataType: aws.ToString(a.DataType), StringListValues: []string{}, BinaryListValues: []string{}}
			if a.BinaryValue != nil {
				b := base64.StdEncoding.EncodeToString(a.BinaryValue)
				v.BinaryValue = &b
			}
			r.MessageAttributes[k] = v
		}
		recs = append(recs, r)
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return b
}

// QueueARN derives a queue's ARN from its URL (https://host/<account>/<name>).
func QueueARN(queueURL, region string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 {
		return ""
	}
	return "arn:aws:sqs:" + region + ":" + parts[0] + ":" + parts[1]
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func newAWS(ctx context.Context, h *Handler, endpoint, dir, tmp string, prog *progress, log func(string)) (*awsDelivery, string, error) {
	if endpoint == "" {
		return nil, "", errors.New("no emulator endpoint: set AWS_ENDPOINT_URL (threefactor emulators run sets it) or pass --endpoint; the runner delivers only against emulators")
	}
	proc, err := prepare(h, dir, tmp)
	if err != nil {
		return nil, "", err
	}
	id, secret, token := Credentials()
	client := sqs.New(sqs.Options{
		Region: h.Region, BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider(id, secret, token),
	})
	d := &awsDelivery{
		h: h, sqs: client, queueARN: QueueARN(h.QueueURL, h.Region), proc: proc, dir: dir, prog: prog, log: log,
		env: baseEnv(h, dir, endpoint, []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=" + token}),
	}
	if _, _, err := d.depth(ctx, h.QueueURL); err != nil {
		return nil, "", fmt.Errorf("reading its queue %s at %s: %w (is the emulator that the state was applied to running?)", h.QueueURL, endpoint, err)
	}
	d.dlq0, _, _ = d.depth(ctx, h.DeadLetterURL)
	return d, proc.note, nil
}

func (d *awsDelivery) concurrency() int64 {
	if d.h.MaxConcurrency > 0 {
		return d.h.MaxConcurrency
	}
	return defaultConcurrency
}

// drained: the queue holds nothing visible, delayed or in flight, and no batch is being handled.
func (d *awsDelivery) drained(ctx context.Context) bool {
	n, inFlight, err := d.depth(ctx, d.h.QueueURL)
	return err == nil && n+inFlight == 0 && d.busy.Load() == 0
}

// deadLettered is the growth of the dead-letter queue, which the queue's redrive fills.
func (d *awsDelivery) deadLettered(ctx context.Context) (int64, bool) {
	n, _, err := d.depth(ctx, d.h.DeadLetterURL)
	return max(n-d.dlq0, 0), err == nil
}

// Credentials are the environment's static credentials, or an emulator's dummy ones: never the
// SDK's chain, which would probe the instance-metadata address.
func Credentials() (id, secret, token string) {
	id, secret = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return "test", "test", ""
	}
	return id, secret, os.Getenv("AWS_SESSION_TOKEN")
}

// depth returns a queue's visible (and delayed) and in-flight message counts.
func (d *awsDelivery) depth(ctx context.Context, queueURL string) (visible, inFlight int64, err error) {
	out, err := d.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &queueURL, AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}})
	if err != nil {
		return 0, 0, err
	}
	n := func(k sqstypes.QueueAttributeName) int64 {
		v, _ := strconv.ParseInt(out.Attributes[string(k)], 10, 64)
		return v
	}
	return n(sqstypes.QueueAttributeNameApproximateNumberOfMessages) + n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed),
		n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible), nil
}

// fromAWS reads what an AWS handler's state holds beyond the neutral resource: its region, queues,
// and the environment the driver gives its function.
func fromAWS(r resource, h *Handler) error {
	// The import id is aws/<region>/<name>.
	parts := strings.Split(r.ID, "/")
	if len(parts) != 3 || parts[0] != "aws" {
		return fmt.Errorf("id %q is not aws/<region>/<name>", r.ID)
	}
	h.Region = parts[1]
	if h.QueueURL == "" || h.DeadLetterURL == "" || r.Components["dedup_table"] == "" {
		return fmt.Errorf("the state lacks its queue, dead-letter queue or dedup table (components %v): run tofu apply", r.Components)
	}
	h.Env = awslambda.Env(r.spec(), h.Region)
	return nil
}
