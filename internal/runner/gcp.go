package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions"
)

// gcpDelivery plays one handler's push subscription as Pub/Sub does for a Cloud Run function: one
// message per request, the request's timeout the function's, acknowledged on a 102, 200, 201, 202
// or 204 and nacked otherwise. The subscription is paused (pull only): the runner pulls from it in
// the Pub/Sub emulator, which applies the retry policy's backoff to a nacked message and forwards it
// to the dead-letter topic once it has failed retry.max_attempts deliveries.
type gcpDelivery struct {
	h    *Handler
	subs *pubsub.SubscriptionAdminClient
	proc process
	dir  string
	env  []string
	prog *progress
	log  func(string)
	// busy counts workers pulling or handling a message; empty is whether the last pull found none.
	busy  atomic.Int64
	empty atomic.Bool
	// waiting holds the ids of messages nacked before their last attempt: Pub/Sub hides them for
	// the retry policy's backoff, so an empty pull does not mean drained while any is waiting.
	mu      sync.Mutex
	waiting map[string]bool
	// forwarding holds the messages nacked at their last attempt until their dead letter shows in
	// the dead-letter subscription: the emulator forwards a message only while its subscription is
	// pulled, so the run goes on pulling until then. Keyed by forwarded.
	forwarding map[string]bool
}

// forwarded keys a message by what its dead letter keeps of it: the source subscription's id, the
// original publish time (as CloudPubSubDeadLetterSourceTopicPublishTime has it) and the data.
func forwarded(sub string, published time.Time, data []byte) string {
	return sub[strings.LastIndex(sub, "/")+1:] + " " + published.UTC().Format("2006-01-02T15:04:05.000Z") + " " + string(data)
}

// fromGCP reads what a Google handler's state holds: its project (the import id is
// gcp/<project>/<region>/<name>), subscriptions, consumed topic, and the environment the driver
// gives its function.
func fromGCP(r resource, h *Handler) error {
	parts := strings.Split(r.ID, "/")
	if len(parts) != 4 || parts[0] != "gcp" {
		return fmt.Errorf("id %q is not gcp/<project>/<region>/<name>", r.ID)
	}
	h.Project, h.Region = parts[1], parts[2]
	h.Subscription, h.DeadLetterSubscription = r.Components["subscription"], r.Components[string(gcpfunctions.DeadLetterSubscription)]
	h.Topic = r.PublishTarget
	database := r.Components["dedup_table"]
	if h.Subscription == "" || h.DeadLetterSubscription == "" || database == "" || h.Topic == "" {
		return fmt.Errorf("the state lacks its push subscription, dead-letter subscription, dedup database or topic (components %v): run tofu apply", r.Components)
	}
	h.Env = gcpfunctions.Env(r.spec(), database)
	return nil
}

// PubSubClient is a subscription client of the Pub/Sub emulator at host.
func PubSubClient(ctx context.Context, host string) (*pubsub.SubscriptionAdminClient, error) {
	return pubsub.NewSubscriptionAdminClient(ctx, gcloud.ClientOptions(host)...)
}

func newGCP(ctx context.Context, h *Handler, opts Options, dir, tmp string, prog *progress, log func(string)) (*gcpDelivery, string, error) {
	if opts.PubSubHost == "" || opts.FirestoreHost == "" {
		return nil, "", errors.New("no Google emulators: set PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST (threefactor emulators run --cloud gcp sets them); the runner delivers only against emulators")
	}
	proc, err := prepareGCP(ctx, h, dir, tmp)
	if err != nil {
		return nil, "", err
	}
	subs, err := PubSubClient(ctx, opts.PubSubHost)
	if err != nil {
		return nil, "", err
	}
	sub, err := subs.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: h.Subscription})
	switch {
	case err != nil:
		_ = subs.Close()
		return nil, "", fmt.Errorf("reading its subscription %s at %s: %w (is the emulator that the state was applied to running?)", h.Subscription, opts.PubSubHost, err)
	case sub.GetPushConfig().GetPushEndpoint() != "":
		_ = subs.Close()
		return nil, "", fmt.Errorf("its subscription pushes to %s: set trigger.enabled = false and apply to let the runner deliver", sub.GetPushConfig().GetPushEndpoint())
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LANG=en_US.UTF-8",
		// What Cloud Run gives a function's container, and what the Functions Framework reads.
		"K_SERVICE=" + h.Name, "K_REVISION=" + h.Name + "-local", "K_CONFIGURATION=" + h.Name,
		"FUNCTION_TARGET=" + h.EntryPoint, "FUNCTION_SIGNATURE_TYPE=http",
		"PUBSUB_EMULATOR_HOST=" + opts.PubSubHost, "FIRESTORE_EMULATOR_HOST=" + opts.FirestoreHost,
		"THREEFACTOR_OUTCOME_LOG=stderr",
	}
	for k, v := range h.Env {
		env = append(env, k+"="+v)
	}
	d := &gcpDelivery{h: h, subs: subs, proc: proc, dir: dir, env: env, prog: prog, log: log, waiting: map[string]bool{}, forwarding: map[string]bool{}}
	go func() { <-ctx.Done(); _ = subs.Close() }()
	return d, proc.note, nil
}

func (d *gcpDelivery) concurrency() int64 {
	if d.h.MaxConcurrency > 0 { // max instances, each serving one request at a time
		return d.h.MaxConcurrency
	}
	return defaultConcurrency
}

// drained: the last pull found nothing, no worker is pulling or handling, no nacked message is
// waiting out its backoff, and every message failed at its last attempt is in the dead-letter
// subscription. A message nacked before the run started is not known to be
// waiting: it is delivered when its backoff ends, if the run still runs.
func (d *gcpDelivery) drained(ctx context.Context) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.forwarding) > 0 {
		d.seeForwarded(ctx)
	}
	return d.empty.Load() && d.busy.Load() == 0 && len(d.waiting) == 0 && len(d.forwarding) == 0
}

// seeForwarded drops from forwarding the messages whose dead letters are in the dead-letter
// subscription; it pulls them and nacks them at once, so they stay there. Called with mu held.
func (d *gcpDelivery) seeForwarded(ctx context.Context) {
	out, err := d.subs.Pull(ctx, &pubsubpb.PullRequest{Subscription: d.h.DeadLetterSubscription, MaxMessages: 100, ReturnImmediately: true}) //nolint:staticcheck // the emulator answers at once only so
	if err != nil {
		return
	}
	var ids []string
	for _, m := range out.GetReceivedMessages() {
		a := m.GetMessage().GetAttributes()
		published, _ := time.Parse(time.RFC3339Nano, a["CloudPubSubDeadLetterSourceTopicPublishTime"])
		delete(d.forwarding, forwarded(a["CloudPubSubDeadLetterSourceSubscription"], published, m.GetMessage().GetData()))
		ids = append(ids, m.GetAckId())
	}
	if len(ids) > 0 {
		_ = d.subs.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{Subscription: d.h.DeadLetterSubscription, AckIds: ids})
	}
}

// deadLettered: the delivery counts what it dead-letters itself (Pub/Sub has no message count to
// read but Cloud Monitoring's).
func (d *gcpDelivery) deadLettered(context.Context) (int64, bool) { return 0, false }

// worker pulls one message at a time and posts it to an instance of its own, until ctx ends.
func (d *gcpDelivery) worker(ctx context.Context) {
	var in *instance
	defer func() {
		if in != nil {
			in.kill()
		}
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		d.busy.Add(1)
		out, err := d.subs.Pull(ctx, &pubsubpb.PullRequest{Subscription: d.h.Subscription, MaxMessages: 1, ReturnImmediately: true}) //nolint:staticcheck // the emulator answers at once only so
		if err != nil || len(out.GetReceivedMessages()) == 0 {
			d.busy.Add(-1)
			if err != nil && ctx.Err() == nil {
				d.log(fmt.Sprintf("pulling from %s: %v (retrying)", d.h.Subscription, err))
				sleep(ctx, backoff)
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			d.empty.Store(true)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		backoff = 100 * time.Millisecond
		d.empty.Store(false)
		m := out.GetReceivedMessages()[0]
		d.mu.Lock()
		delete(d.waiting, m.GetMessage().GetMessageId())
		d.mu.Unlock()
		in = d.deliver(ctx, in, m)
		d.busy.Add(-1)
	}
}

// deliver posts m to in (started when nil or dead), then acknowledges or nacks m as Pub/Sub does
// with the answer; it returns the instance to reuse.
func (d *gcpDelivery) deliver(ctx context.Context, in *instance, m *pubsubpb.ReceivedMessage) *instance {
	d.prog.update(d.h.Name, func(s *Stats) { s.Received++ })
	id := m.GetMessage().GetMessageId()
	code, why := d.post(ctx, &in, d.envelope(m))
	if ctx.Err() != nil {
		return in // stopping: the message is delivered again after its ack deadline, as after a crash
	}
	if acks(code) {
		d.prog.update(d.h.Name, func(s *Stats) { s.Succeeded++ })
		if err := d.subs.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: d.h.Subscription, AckIds: []string{m.GetAckId()}}); err != nil {
			d.log(fmt.Sprintf("acknowledging %s: %v (it will be delivered again; the dedup table drops it)", id, err))
		}
		return in
	}
	last := d.h.MaxAttempts > 0 && int64(m.GetDeliveryAttempt()) >= d.h.MaxAttempts
	d.log(fmt.Sprintf("message %s (delivery %d of %d) failed: %s", id, m.GetDeliveryAttempt(), d.h.MaxAttempts, why))
	d.prog.update(d.h.Name, func(s *Stats) {
		s.Failed++
		if last {
			s.DeadLettered++
		}
	})
	d.mu.Lock()
	if last {
		d.forwarding[forwarded(d.h.Subscription, m.GetMessage().GetPublishTime().AsTime(), m.GetMessage().GetData())] = true
	} else {
		d.waiting[id] = true
	}
	d.mu.Unlock()
	// A zero ack deadline is a nack: Pub/Sub redelivers after the retry policy's backoff or, after
	// the last attempt, forwards the message to the dead-letter topic.
	if err := d.subs.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{Subscription: d.h.Subscription, AckIds: []string{m.GetAckId()}}); err != nil {
		d.log(fmt.Sprintf("nacking %s: %v (it is delivered again after its ack deadline)", id, err))
	}
	return in
}

// acks reports whether Pub/Sub acknowledges a push answered with code.
func acks(code int) bool {
	switch code {
	case http.StatusProcessing, http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent:
		return true
	}
	return false
}

// post sends one push request to *inp (starting an instance when there is none) within the
// function's timeout, and returns the status, or 0 and why the request failed: a timeout (the
// instance is killed), a crash, or an instance that never listened.
func (d *gcpDelivery) post(ctx context.Context, inp **instance, body []byte) (int, string) {
	if *inp == nil || !(*inp).alive() {
		in, err := startInstance(ctx, d.proc, d.dir, d.env, d.prog.outputOf(d.h.Name, d.log))
		if err != nil {
			return 0, err.Error()
		}
		*inp = in
	}
	in := *inp
	timeout := time.Duration(d.h.TimeoutS) * time.Second
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, in.url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// No answer: the instance is done for (a crashed one is reaped, a hung one killed).
		exited := !in.alive()
		in.kill()
		*inp = nil
		switch {
		case rctx.Err() != nil && ctx.Err() == nil:
			return 0, fmt.Sprintf("timed out after %s (function.timeout_s): the instance is killed", timeout)
		case exited:
			return 0, fmt.Sprintf("the process exited (%v) during the request", in.err)
		}
		return 0, fmt.Sprintf("the request failed (%v); the instance is killed (%v)", err, in.err)
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	return resp.StatusCode, fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(msg))
}

// envelope is the push request's body Pub/Sub sends for m (message fields in both spellings, as
// the real service and the emulator send them).
func (d *gcpDelivery) envelope(m *pubsubpb.ReceivedMessage) []byte {
	msg := m.GetMessage()
	published := msg.GetPublishTime().AsTime().UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(map[string]any{
		"message": map[string]any{
			"data": msg.GetData(), "attributes": msg.GetAttributes(),
			"messageId": msg.GetMessageId(), "message_id": msg.GetMessageId(),
			"publishTime": published, "publish_time": published, "orderingKey": msg.GetOrderingKey(),
		},
		"subscription": d.h.Subscription, "deliveryAttempt": m.GetDeliveryAttempt(),
	})
	return b
}

// instance is one running process of a Google handler serving HTTP on a port of its own, as one
// Cloud Run instance with a concurrency of one.
type instance struct {
	*child
	url string
}

// startInstance runs p with PORT set and waits until it listens, for at most the init limit.
func startInstance(ctx context.Context, p process, dir string, env []string, line func(string)) (*instance, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	_, port, _ := net.SplitHostPort(addr)
	c, err := spawn(p.argv, dir, append(append([]string{}, env...), "PORT="+port), line)
	if err != nil {
		return nil, err
	}
	in := &instance{child: c, url: "http://" + addr + "/"}
	deadline := time.Now().Add(initLimit)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return in, nil
		}
		if !c.alive() {
			return nil, fmt.Errorf("the process exited (%v) before listening on PORT %s", c.err, port)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.kill()
			return nil, fmt.Errorf("the process did not listen on PORT %s within the init limit (%s)", port, initLimit)
		}
		sleep(ctx, wait)
	}
}
