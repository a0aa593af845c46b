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
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver/azurefunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/runner/sbrest"
)

// azurePassThrough are variables of the runner's environment a custom handler gets: the
// credentials and CA bundle its SDKs use here in place of the function app's managed identity,
// and the Cosmos DB emulator's key (handler/cosmosstore's THREEFACTOR_COSMOS_KEY).
var azurePassThrough = []string{"SSL_CERT_FILE", "THREEFACTOR_COSMOS_KEY", "AZURE_TENANT_ID", "AZURE_CLIENT_ID",
	"AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST", "HTTPS_PROXY", "NO_PROXY"}

// fromAzure completes h from an azure handler's state: its queue or subscription and dead-letter
// queue as data-plane URLs (https://<namespace>.servicebus.windows.net/<entity>) and the app
// settings its code reads.
func fromAzure(r resource, h *Handler) error {
	parts := strings.Split(r.ID, "/")
	if len(parts) != 4 || parts[0] != "azure" {
		return fmt.Errorf("id %q is not azure/<subscription>/<resource_group>/<name>", r.ID)
	}
	source := r.Components["queue"]
	if h.Kind == "topic" {
		source = r.Components["subscription"]
	}
	dedup := r.Components["dedup_table"]
	if source == "" || r.Components["dead_letter"] == "" || dedup == "" {
		return fmt.Errorf("the state lacks its queue or subscription, dead-letter queue or dedup container (components %v): run tofu apply", r.Components)
	}
	var err error
	if h.QueueURL, err = EntityURL(source); err != nil {
		return err
	}
	if h.DeadLetterURL, err = EntityURL(r.Components["dead_letter"]); err != nil {
		return err
	}
	h.Env = azurefunctions.Env(r.spec(), dedup)
	return nil
}

// EntityURL is the data-plane URL of a Service Bus queue or subscription's ARM id:
// https://<namespace>.servicebus.windows.net/<queue> or /<topic>/subscriptions/<subscription>.
func EntityURL(id string) (string, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return "", fmt.Errorf("the ARM id %q of a Service Bus entity: %w", id, err)
	}
	var path []string
	for p := r; p != nil && !strings.EqualFold(p.ResourceType.String(), "Microsoft.ServiceBus/namespaces"); p = p.Parent {
		switch {
		case strings.EqualFold(p.ResourceType.Type, "namespaces/queues"), strings.EqualFold(p.ResourceType.Type, "namespaces/topics"):
			path = append([]string{p.Name}, path...)
		case strings.EqualFold(p.ResourceType.Type, "namespaces/topics/subscriptions"):
			path = append([]string{"subscriptions", p.Name}, path...)
		default:
			return "", fmt.Errorf("%q is not the ARM id of a Service Bus queue or subscription", id)
		}
		if p.Parent != nil && strings.EqualFold(p.Parent.ResourceType.String(), "Microsoft.ServiceBus/namespaces") {
			return "https://" + strings.ToLower(p.Parent.Name) + "." + sbrest.Suffix + "/" + strings.Join(path, "/"), nil
		}
	}
	return "", fmt.Errorf("%q is not the ARM id of a Service Bus queue or subscription", id)
}

// SplitEntityURL splits a data-plane URL into the namespace's host and the entity's path.
func SplitEntityURL(u string) (host, entity string, err error) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || !strings.HasSuffix(p.Host, "."+sbrest.Suffix) || strings.Trim(p.Path, "/") == "" {
		return "", "", fmt.Errorf("%q is not https://<namespace>.%s/<entity>", u, sbrest.Suffix)
	}
	return p.Host, strings.Trim(p.Path, "/"), nil
}

// AzureClient is a Service Bus data-plane client of the namespace of entity URL u, with opts'
// transport and credential (or the default ones: see Options).
func AzureClient(opts Options, u string) (c *sbrest.Client, entity string, err error) {
	host, entity, err := SplitEntityURL(u)
	if err != nil {
		return nil, "", err
	}
	c = &sbrest.Client{Host: host, HTTP: opts.AzureHTTP, Cred: opts.AzureCredential}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 2 * time.Minute}
	}
	if c.Cred == nil {
		if c.Cred, err = defaultCredential(); err != nil {
			return nil, "", fmt.Errorf("credentials for Service Bus (azidentity DefaultAzureCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or az login): %w", err)
		}
	}
	return c, entity, nil
}

// defaultCredential is DefaultAzureCredential, at AZURE_AUTHORITY_HOST when set (sovereign
// clouds, the emulator kit), without instance discovery there.
func defaultCredential() (azcore.TokenCredential, error) {
	o := &azidentity.DefaultAzureCredentialOptions{}
	if host := os.Getenv("AZURE_AUTHORITY_HOST"); host != "" {
		o.ClientOptions = policy.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: strings.TrimSuffix(host, "/") + "/"}}
		o.DisableInstanceDiscovery = true
	}
	return azidentity.NewDefaultAzureCredential(o)
}

// azureDelivery plays the Functions host's Service Bus trigger for one handler, a Go custom
// handler or a Node.js app behind a stand-in of the host's Node.js worker: it peek-locks one
// message at a time (batch_size is 1 on Azure), POSTs the custom-handler invocation to the
// handler's process, and completes the message on 200 or abandons it otherwise, so that Service
// Bus counts the delivery and dead-letters the message at MaxDeliveryCount.
type azureDelivery struct {
	h                  *Handler
	sb                 *sbrest.Client
	entity, deadLetter string
	argv               []string
	dir                string
	env                []string
	function, binding  string
	prog               *progress
	log                func(string)
	busy               atomic.Int64
	// dlq0 is the dead letters' count when the run started.
	dlq0 int64
}

func newAzure(ctx context.Context, h *Handler, opts Options, dir, tmp string, prog *progress, log func(string)) (*azureDelivery, string, error) {
	switch {
	case !h.Enabled:
		return nil, "", errors.New("trigger.enabled is false: its queue or subscription is ReceiveDisabled and messages wait in it; set trigger.enabled = true to let the runner deliver (no Functions host runs in the emulator)")
	case strings.HasPrefix(h.Runtime, "python"), h.Runtime == "java21":
		return nil, "", fmt.Errorf("%s handlers on Azure are not run locally: their programming model runs inside the Functions host's language worker, which the runner plays only for Node.js; its messages stay in its queue", h.Runtime)
	case h.Runtime != "go" && !strings.HasPrefix(h.Runtime, "nodejs"):
		return nil, "", fmt.Errorf("runtime %q is not one the runner knows", h.Runtime)
	}
	d := &azureDelivery{h: h, dir: dir, prog: prog, log: log, env: azureEnv(h, opts.CosmosEndpoint)}
	var note string
	var err error
	if h.Runtime == "go" {
		note, err = d.goCustomHandler()
	} else {
		note, err = d.nodeWorker(tmp)
	}
	if err != nil {
		return nil, "", err
	}
	sb, entity, err := AzureClient(opts, h.QueueURL)
	if err != nil {
		return nil, "", err
	}
	_, dl, err := SplitEntityURL(h.DeadLetterURL)
	if err != nil {
		return nil, "", err
	}
	d.sb, d.entity, d.deadLetter = sb, entity, dl
	if _, _, err := sb.Counts(ctx, entity); err != nil {
		return nil, "", fmt.Errorf("reading its %s: %w (is the emulator that the state was applied to running, and HTTPS_PROXY its proxy?)", h.QueueURL, err)
	}
	if d.dlq0, err = d.deadLetters(ctx); err != nil {
		return nil, "", fmt.Errorf("reading its dead-letter queue %s: %w", h.DeadLetterURL, err)
	}
	return d, note, nil
}

// goCustomHandler runs a go handler's executable as the host runs a custom handler, for the function
// of its code's function.json.
func (d *azureDelivery) goCustomHandler() (string, error) {
	exe, err := customHandlerExecutable(d.dir, d.h.EntryPoint)
	if err != nil {
		return "", err
	}
	if d.function, d.binding, err = serviceBusFunction(d.dir); err != nil {
		return "", err
	}
	d.argv = []string{exe}
	return fmt.Sprintf("go: %s runs as a custom handler of function %s (its serviceBusTrigger binding %q)", exe, d.function, d.binding), nil
}

// nodeWorker runs a Node.js app (v4 programming model) behind the runner's stand-in of the host's
// Node.js worker (wrappers/azure-node.js), which serves the app's Service Bus trigger as a custom
// handler at any path.
func (d *azureDelivery) nodeWorker(tmp string) (string, error) {
	p, err := interpreted(d.h, tmp, "node", "azure-node.js", azureNodeWrapper, []string{"--version"})
	if err != nil {
		return "", err
	}
	d.argv, d.function, d.binding = p.argv, "", "message"
	return p.note + " (its Functions worker played by the runner: the app's app.serviceBusQueue or app.serviceBusTopic handler is called with each message)", nil
}

// customHandlerExecutable is the binary host.json's customHandler names, or entryPoint
// (function.entry_point, "handler" by default) without a host.json, checked to run here.
func customHandlerExecutable(dir, entryPoint string) (string, error) {
	name := entryPoint
	if name == "" {
		name = "handler"
	}
	if b, err := os.ReadFile(filepath.Join(dir, "host.json")); err == nil {
		var host struct {
			CustomHandler struct {
				Description struct {
					DefaultExecutablePath string `json:"defaultExecutablePath"`
				} `json:"description"`
			} `json:"customHandler"`
		}
		if err := json.Unmarshal(b, &host); err != nil {
			return "", fmt.Errorf("host.json: %w", err)
		}
		if p := host.CustomHandler.Description.DefaultExecutablePath; p != "" {
			name = p
		}
	}
	exe := filepath.Join(dir, filepath.FromSlash(name))
	return exe, checkExecutable(exe, "-o "+name)
}

// serviceBusFunction finds the function whose function.json has a serviceBusTrigger, as the
// Functions host does (<function>/function.json), and returns its name and the binding's.
func serviceBusFunction(dir string) (function, binding string, err error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "function.json"))
	slices.Sort(files)
	for _, f := range files {
		var fn struct {
			Bindings []struct{ Type, Name string } `json:"bindings"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", "", err
		}
		if err := json.Unmarshal(b, &fn); err != nil {
			return "", "", fmt.Errorf("%s: %w", f, err)
		}
		for _, bd := range fn.Bindings {
			if strings.EqualFold(bd.Type, "serviceBusTrigger") {
				return filepath.Base(filepath.Dir(f)), bd.Name, nil
			}
		}
	}
	return "", "", errors.New("no <function>/function.json with a serviceBusTrigger binding in the code: the Functions host would run nothing (see examples/handler-go-azure)")
}

// azureEnv is the environment of h's custom handler: its app settings (with every cosmos:// URL
// pointed at cosmos, host:port of an emulator, when set), the runner's Azure credentials and
// outcome log. FUNCTIONS_CUSTOMHANDLER_PORT is added per process.
func azureEnv(h *Handler, cosmos string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LANG=en_US.UTF-8",
		"FUNCTIONS_WORKER_RUNTIME=custom", "THREEFACTOR_OUTCOME_LOG=stderr"}
	for _, k := range azurePassThrough {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range h.Env {
		if u, err := url.Parse(v); cosmos != "" && err == nil && u.Scheme == "cosmos" {
			u.Host = cosmos
			v = u.String()
		}
		env = append(env, k+"="+v)
	}
	return env
}

func (d *azureDelivery) concurrency() int64 {
	if d.h.MaxConcurrency > 0 {
		return d.h.MaxConcurrency
	}
	return defaultConcurrency
}

// drained: no message waits or is locked in the entity, and none is being handled.
func (d *azureDelivery) drained(ctx context.Context) bool {
	n, _, err := d.sb.Counts(ctx, d.entity)
	return err == nil && n == 0 && d.busy.Load() == 0
}

func (d *azureDelivery) deadLettered(ctx context.Context) (int64, bool) {
	n, err := d.deadLetters(ctx)
	return max(n-d.dlq0, 0), err == nil
}

// deadLetters counts both queues dlq works on: the dead-letter queue and its own $DeadLetterQueue.
func (d *azureDelivery) deadLetters(ctx context.Context) (int64, error) {
	n, sub, err := d.sb.Counts(ctx, d.deadLetter)
	return n + sub, err
}

// customHandler is one process of the handler, serving invocations on its port.
type customHandler struct {
	*child
	url string
}

func (d *azureDelivery) worker(ctx context.Context) {
	var ch *customHandler
	defer func() {
		if ch != nil {
			ch.kill()
		}
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		m, err := d.sb.PeekLock(ctx, d.entity, time.Second)
		if err != nil {
			if ctx.Err() == nil {
				d.log(fmt.Sprintf("receiving from %s: %v (retrying)", d.h.QueueURL, err))
				sleep(ctx, backoff)
				backoff = min(2*backoff, 5*time.Second)
			}
			continue
		}
		backoff = 100 * time.Millisecond
		if m != nil {
			d.busy.Add(1)
			ch = d.deliver(ctx, ch, m)
			d.busy.Add(-1)
		}
	}
}

// deliver invokes ch (started when nil or dead) with m and settles m as the host does: complete
// on success, abandon otherwise. It returns the process to reuse.
func (d *azureDelivery) deliver(ctx context.Context, ch *customHandler, m *sbrest.Message) *customHandler {
	d.prog.update(d.h.Name, func(s *Stats) { s.Received++ })
	why := d.invoke(ctx, &ch, m)
	if ctx.Err() != nil {
		return ch // stopping: the lock expires and the message is delivered again, as after a crash
	}
	if why == "" {
		d.prog.update(d.h.Name, func(s *Stats) { s.Succeeded++ })
		if err := d.sb.Complete(ctx, d.entity, m); err != nil {
			d.log(fmt.Sprintf("completing message %s: %v (it will be delivered again; the dedup table drops it)", m.ID, err))
		}
		return ch
	}
	d.log(fmt.Sprintf("message %s (delivery %d) failed: %s", m.ID, m.DeliveryCount, why))
	d.prog.update(d.h.Name, func(s *Stats) { s.Failed++ })
	if err := d.sb.Abandon(ctx, d.entity, m); err != nil {
		d.log(fmt.Sprintf("abandoning message %s: %v (it is delivered again when its lock expires)", m.ID, err))
	}
	return ch
}

// invoke POSTs m's invocation to the function and returns why it failed ("" on success): an
// answer other than 200, a timeout (the process is killed) or a crash.
func (d *azureDelivery) invoke(ctx context.Context, chp **customHandler, m *sbrest.Message) string {
	if *chp == nil || !(*chp).alive() {
		ch, err := d.start(ctx)
		if err != nil {
			return err.Error()
		}
		*chp = ch
	}
	ch := *chp
	timeout := time.Duration(d.h.TimeoutS) * time.Second
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ictx, http.MethodPost, ch.url+"/"+d.function, bytes.NewReader(d.invocation(m)))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	switch {
	case err != nil && ctx.Err() != nil:
		return "stopped"
	case err != nil && errors.Is(ictx.Err(), context.DeadlineExceeded):
		ch.kill()
		*chp = nil
		return fmt.Sprintf("timed out after %s (function.timeout_s): killed", timeout)
	case err != nil:
		ch.kill()
		*chp = nil
		return fmt.Sprintf("the process exited (%v) during the invocation: %v", ch.err, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		var r struct{ Logs []string }
		if json.Unmarshal(body, &r) == nil && len(r.Logs) > 0 {
			return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.Join(r.Logs, "; "))
		}
		return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return ""
}

// start runs a process of the handler on a free port and waits until it listens, within the init
// limit.
func (d *azureDelivery) start(ctx context.Context) (*customHandler, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	_ = l.Close()
	c, err := spawn(d.argv, d.dir, append(slices.Clip(d.env), "FUNCTIONS_CUSTOMHANDLER_PORT="+port), d.prog.outputOf(d.h.Name, d.log))
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(initLimit)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			_ = conn.Close()
			return &customHandler{child: c, url: "http://127.0.0.1:" + port}, nil
		}
		if !c.alive() || time.Now().After(deadline) || ctx.Err() != nil {
			c.kill()
			return nil, fmt.Errorf("the process did not listen on FUNCTIONS_CUSTOMHANDLER_PORT within the init limit (%s): exit %v", initLimit, c.err)
		}
		sleep(ctx, wait)
	}
}

// invocation is the request the Functions host POSTs to a custom handler for m.
func (d *azureDelivery) invocation(m *sbrest.Message) []byte {
	props := map[string]json.RawMessage{}
	for k, v := range m.Properties {
		if json.Valid([]byte(v)) {
			props[k] = json.RawMessage(v)
		} else {
			props[k], _ = json.Marshal(v)
		}
	}
	b, _ := json.Marshal(map[string]any{
		"Data": map[string]any{d.binding: string(m.Body)},
		"Metadata": map[string]any{
			"MessageId": m.ID, "DeliveryCount": m.DeliveryCount, "SequenceNumber": m.SequenceNumber, "ContentType": m.ContentType,
			"ApplicationProperties": props,
			"sys":                   map[string]any{"MethodName": d.function, "UtcNow": time.Now().UTC().Format(time.RFC3339Nano)},
		},
	})
	return b
}
