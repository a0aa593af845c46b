package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/threefactor/terraform-provider-threefactor/acctest"
	"github.com/threefactor/terraform-provider-threefactor/acctest/moto"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/awslambda/awstest"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/drivertest"
	"github.com/threefactor/terraform-provider-threefactor/internal/pack"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

const providerAddr = "registry.opentofu.org/threefactor/threefactor"

// TestAccEventHandlerAWS_upgradeFromV0 plans, with this provider, a state written by the provider
// before its core was made cloud-neutral (testdata/upgrade: a queue and a topic handler with default
// tags in the aws block), once the configuration moves default_tags to the provider's top level: the
// plan must find no changes. The recorded components are made again in a fresh moto by the driver
// and the state's ids pointed at them, since moto keeps nothing between runs.
func TestAccEventHandlerAWS_upgradeFromV0(t *testing.T) {
	acctest.Setup(t)
	s := moto.Require(t)
	h, err := awstest.New(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"main.tf", "src/index.js"} {
		copyFile(t, filepath.Join("testdata", "upgrade", f), filepath.Join(dir, f))
	}
	code, err := pack.Dir(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := os.ReadFile(filepath.Join("testdata", "upgrade", "v0.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	renamed := map[string]string{} // old id: new id
	for _, r := range upgradeHandlers() {
		r.h.Function.SourceHash = code.Hash
		st, _, err := h.D.Apply(context.Background(), r.h, &driver.Code{Zip: code.Zip, Hash: code.Hash}, nil)
		if err != nil {
			t.Fatalf("making %s again: %v", r.h.Name, err)
		}
		for c, id := range recordedComponents(t, recorded, r.resource) {
			renamed[id] = st[c]
		}
	}
	// Longest first: a topic's ARN starts its subscription's, and the replacer takes the first match.
	var ids []string
	for _, old := range slices.SortedFunc(maps.Keys(renamed), func(a, b string) int { return len(b) - len(a) }) {
		ids = append(ids, old, renamed[old])
	}
	state := repoint(t, recorded, strings.NewReplacer(ids...))
	if err := os.WriteFile(filepath.Join(dir, "terraform.tfstate"), state, 0o644); err != nil {
		t.Fatal(err)
	}

	// The provider runs in this process and resolves the configuration's relative paths from here.
	t.Chdir(dir)
	copyFile(t, os.DevNull, filepath.Join(dir, "empty.tfrc"))
	env := append(os.Environ(), "TF_REATTACH_PROVIDERS="+serve(t), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "empty.tfrc"), "TF_IN_AUTOMATION=1")
	tofu := func(args ...string) (string, int) {
		cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, rc := tofu("init", "-input=false", "-no-color"); rc != 0 {
		t.Fatalf("tofu init: exit %d\n%s", rc, out)
	}
	// -detailed-exitcode: 0 is an empty plan, 2 a plan with changes.
	if out, rc := tofu("plan", "-input=false", "-no-color", "-detailed-exitcode", "-var", "endpoint="+s.URL); rc != 0 {
		t.Fatalf("tofu plan of the upgraded configuration: exit %d, want 0 (no changes)\n%s", rc, out)
	}
}

type upgradeHandler struct {
	resource string
	h        *spec.Handler
}

// upgradeHandlers are the handlers of testdata/upgrade/main.tf as spec handlers.
func upgradeHandlers() []upgradeHandler {
	q := drivertest.Handler("upgrade-queue", awslambda.Cloud)
	q.Function.Environment = map[string]string{}
	q.Tags = map[string]string{"owner": "platform", "team": "orders"}
	tp := drivertest.Handler("upgrade-topic", awslambda.Cloud)
	tp.Function.Environment, tp.Function.SecretEnvironment = map[string]string{}, nil
	tp.Trigger.Kind, tp.Retry.MaxAttempts = spec.Topic, 3
	tp.Tags = map[string]string{"owner": "platform"}
	return []upgradeHandler{{"queue", q}, {"topic", tp}}
}

// tfstate is the part of a state file the test reads and rewrites.
type tfstate struct {
	Resources []struct {
		Name      string `json:"name"`
		Instances []struct {
			Attributes struct {
				Components map[string]string `json:"components"`
			} `json:"attributes"`
		} `json:"instances"`
	} `json:"resources"`
}

func recordedComponents(t *testing.T, recorded []byte, resource string) map[string]string {
	var s tfstate
	if err := json.Unmarshal(recorded, &s); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Resources {
		if r.Name == resource {
			return r.Instances[0].Attributes.Components
		}
	}
	t.Fatalf("no resource %s in the recorded state", resource)
	return nil
}

// repoint replaces the recorded ids in a state file, in its attributes and in the provider's private
// state (base64 JSON holding base64 JSON).
func repoint(t *testing.T, recorded []byte, r *strings.Replacer) []byte {
	var s map[string]any
	if err := json.Unmarshal([]byte(r.Replace(string(recorded))), &s); err != nil {
		t.Fatal(err)
	}
	for _, res := range s["resources"].([]any) {
		for _, inst := range res.(map[string]any)["instances"].([]any) {
			inst := inst.(map[string]any)
			outer := map[string]string{}
			unmarshal64(t, inst["private"].(string), &outer)
			var inner string
			if b, err := base64.StdEncoding.DecodeString(outer[privateKey]); err == nil {
				inner = r.Replace(string(b))
			} else {
				t.Fatal(err)
			}
			outer[privateKey] = base64.StdEncoding.EncodeToString([]byte(inner))
			b, _ := json.Marshal(outer)
			inst["private"] = base64.StdEncoding.EncodeToString(b)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unmarshal64(t *testing.T, s string, v any) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// serve runs the provider in this process for tofu to attach to, and returns TF_REATTACH_PROVIDERS.
func serve(t *testing.T) string {
	ctx, cancel := context.WithCancel(context.Background())
	configs, closed := make(chan *plugin.ReattachConfig), make(chan struct{})
	go func() {
		_ = tf6server.Serve(providerAddr, func() tfprotov6.ProviderServer { return providerserver.NewProtocol6(New("test")())() },
			tf6server.WithDebug(ctx, configs, closed), tf6server.WithGoPluginLogger(hclog.NewNullLogger()), tf6server.WithoutLogStderrOverride(),
			// Its logs go where plugin-testing sends the other tests' (TF_ACC_LOG, TF_ACC_LOG_PATH).
			tf6server.WithLoggingSink(t))
	}()
	c := <-configs
	t.Cleanup(func() { cancel(); <-closed })
	b, err := json.Marshal(map[string]any{providerAddr: map[string]any{
		"Protocol": c.Protocol, "ProtocolVersion": c.ProtocolVersion, "Pid": c.Pid, "Test": c.Test,
		"Addr": map[string]string{"Network": c.Addr.Network(), "String": c.Addr.String()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(to), 0o755)
	}
	if err == nil {
		err = os.WriteFile(to, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}
