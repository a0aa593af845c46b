// Package runner plays the platform's delivery for the handlers of an applied configuration on
// this machine, against the emulators, running each handler's code as a child process. On AWS
// (aws.go) it polls each handler's queue, invokes the code behind a stand-in of the Lambda runtime
// API, and deletes or leaves each message as the event source mapping would, so that the queue's
// redrive dead-letters poison messages. On Google Cloud (gcp.go) it pulls the paused push
// subscription and posts each message to the function over HTTP as Pub/Sub pushes, acknowledging
// or nacking it, so that the emulator's retry and dead-letter policies apply. On Azure (azure.go) it
// plays the Functions host's Service Bus trigger for Go custom handlers and Node.js apps over Service
// Bus's HTTP data plane, completing or abandoning each message so that Service Bus dead-letters
// poison messages after MaxDeliveryCount deliveries. Run, the progress and the child processes are
// shared; a cloud's delivery implements the delivery interface.
package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Handler is what the runner needs of one applied handler.
type Handler struct {
	Name   string
	Cloud  string
	Region string

	Runtime    string
	EntryPoint string
	// CodeDir or SourceZip holds the code, as the state has it (relative to the configuration).
	SourceDir, SourceZip string
	TimeoutS             int64
	MemoryMB             int64
	MaxConcurrency       int64
	// Env is the function's environment as the platform gives it: the user's variables, the
	// secret ones and the THREEFACTOR_* ones the driver injects.
	Env map[string]string

	Kind         string
	Enabled      bool
	BatchSize    int64
	BatchWindowS int64
	MaxAttempts  int64

	FunctionARN   string
	QueueURL      string
	DeadLetterURL string

	// Google: the project, the push subscription (paused: pull only) the runner pulls from, the
	// pull subscription of the dead-letter topic, and the topic the handler consumes, which a
	// replay publishes to (full resource names).
	Project, Subscription, DeadLetterSubscription, Topic string
}

// show is the part of `tofu show -json` the runner reads.
type show struct {
	Values *struct {
		RootModule module `json:"root_module"`
	} `json:"values"`
}

type module struct {
	Resources []struct {
		Address string   `json:"address"`
		Type    string   `json:"type"`
		Values  resource `json:"values"`
	} `json:"resources"`
	ChildModules []module `json:"child_modules"`
}

type resource struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Cloud    string `json:"cloud"`
	Function struct {
		Runtime           string            `json:"runtime"`
		EntryPoint        string            `json:"entry_point"`
		SourceDir         string            `json:"source_dir"`
		SourceZip         string            `json:"source_zip"`
		MemoryMB          int64             `json:"memory_mb"`
		TimeoutS          int64             `json:"timeout_s"`
		Environment       map[string]string `json:"environment"`
		SecretEnvironment map[string]string `json:"secret_environment"`
		MaxConcurrency    int64             `json:"max_concurrency"`
		Tables            map[string]struct {
			TableID string `json:"table_id"`
		} `json:"tables"`
	} `json:"function"`
	Trigger struct {
		Kind         string `json:"kind"`
		Enabled      bool   `json:"enabled"`
		BatchSize    int64  `json:"batch_size"`
		BatchWindowS int64  `json:"batch_window_s"`
	} `json:"trigger"`
	Retry struct {
		MaxAttempts int64 `json:"max_attempts"`
	} `json:"retry"`
	Dedup struct {
		TTLS int64 `json:"ttl_s"`
	} `json:"dedup"`
	FunctionID    string            `json:"function_id"`
	PublishTarget string            `json:"publish_target"`
	Components    map[string]string `json:"components"`
}

// ShowJSON runs `tofu show -json` in dir (of state, when not empty) and returns its output.
func ShowJSON(ctx context.Context, tofu, dir, state string) ([]byte, error) {
	args := []string{"-chdir=" + dir, "show", "-json"}
	if state != "" {
		abs, err := filepath.Abs(state)
		if err != nil {
			return nil, err
		}
		args = append(args, abs)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tofu, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s(run it after `tofu init` and `tofu apply`; --tofu names the binary)", tofu, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// Handlers reads the threefactor_eventhandler resources of `tofu show -json` output; relative code
// paths are taken from dir, the configuration's directory.
func Handlers(showJSON []byte, dir string) ([]Handler, error) {
	var s show
	if err := json.Unmarshal(showJSON, &s); err != nil {
		return nil, fmt.Errorf("reading `tofu show -json` output: %w", err)
	}
	if s.Values == nil {
		return nil, nil // no state yet
	}
	var out []Handler
	var walk func(m module) error
	walk = func(m module) error {
		for _, r := range m.Resources {
			if r.Type != "threefactor_eventhandler" {
				continue
			}
			h, err := fromResource(r.Values, dir)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Address, err)
			}
			out = append(out, h)
		}
		for _, c := range m.ChildModules {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(s.Values.RootModule)
}

func fromResource(r resource, dir string) (Handler, error) {
	h := Handler{
		Name: r.Name, Cloud: r.Cloud,
		Runtime: r.Function.Runtime, EntryPoint: r.Function.EntryPoint,
		SourceDir: abs(dir, r.Function.SourceDir), SourceZip: abs(dir, r.Function.SourceZip),
		TimeoutS: r.Function.TimeoutS, MemoryMB: r.Function.MemoryMB, MaxConcurrency: r.Function.MaxConcurrency,
		Kind: r.Trigger.Kind, Enabled: r.Trigger.Enabled, BatchSize: r.Trigger.BatchSize, BatchWindowS: r.Trigger.BatchWindowS,
		MaxAttempts: r.Retry.MaxAttempts, FunctionARN: r.FunctionID,
		QueueURL: r.Components["queue"], DeadLetterURL: r.Components["dead_letter"],
	}
	switch h.Cloud {
	case "aws":
		return h, fromAWS(r, &h)
	case "gcp":
		return h, fromGCP(r, &h)
	case "azure":
		return h, fromAzure(r, &h)
	}
	return h, nil // the runner says it does not deliver there
}

// spec is what a driver's environment rebuild reads of the handler: its name, cloud, timeout, dedup
// TTL, environment and table grants.
func (r resource) spec() *spec.Handler {
	sh := spec.Handler{Name: r.Name, Cloud: spec.Cloud(r.Cloud), Dedup: spec.Dedup{TTLS: r.Dedup.TTLS}, Function: spec.Function{
		TimeoutS: r.Function.TimeoutS, Environment: r.Function.Environment, SecretEnvironment: r.Function.SecretEnvironment, Tables: map[string]spec.TableGrant{},
	}}
	for name, g := range r.Function.Tables {
		sh.Function.Tables[name] = spec.TableGrant{TableID: g.TableID}
	}
	return &sh
}

func abs(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
