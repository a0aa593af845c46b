package gcpfunctions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"

	functions "cloud.google.com/go/functions/apiv2"
	"cloud.google.com/go/functions/apiv2/functionspb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// The description of a function the provider made names its handler and its code's hash, which
// Google does not keep in a form the deterministic zip can be compared with, and says when
// max_concurrency is unset: Google reports its default (100 instances) as if it were set.
const (
	descriptionPrefix = "threefactor handler "
	hashMarker        = " code sha256:"
	unsetMarker       = "; max instances: Google's default"
)

func describe(name, hash string, maxInstances int64) string {
	d := descriptionPrefix + name + hashMarker + hash
	if maxInstances == 0 {
		d += unsetMarker
	}
	return d
}

// described splits a description made by describe.
func described(desc string) (name, hash string, maxUnset bool) {
	rest, ok := strings.CutPrefix(desc, descriptionPrefix)
	if !ok {
		return "", "", false
	}
	rest, maxUnset = strings.CutSuffix(rest, unsetMarker)
	name, hash, _ = strings.Cut(rest, hashMarker)
	return name, hash, maxUnset
}

type functionSeen struct {
	fn *functionspb.Function
	// invokerOK: the handler's account may invoke the function's Cloud Run service.
	invokerOK bool
}

// upload puts the code package where Cloud Functions builds from: a signed URL, which takes the zip
// with its content type and refuses credentials.
func (d *Driver) upload(ctx context.Context, code *driver.Code) (*functionspb.StorageSource, error) {
	u, err := d.functions.GenerateUploadUrl(ctx, &functionspb.GenerateUploadUrlRequest{Parent: d.parent()}, d.retry)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.GetUploadUrl(), bytes.NewReader(code.Zip))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/zip")
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("uploading the code package: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read only
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return nil, fmt.Errorf("uploading the code package: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return u.GetStorageSource(), nil
}

// Env is the function's environment: the user's variables, the secret ones and the THREEFACTOR_*
// ones, database being the dedup database's full name. The local runner rebuilds it from the state.
func Env(h *spec.Handler, database string) map[string]string {
	env := map[string]string{}
	maps.Copy(env, h.Function.Environment)
	maps.Copy(env, h.Function.SecretEnvironment)
	tables := map[string]string{}
	for name, g := range h.Function.Tables {
		tables[name] = tableStoreURL(g.TableID)
	}
	maps.Copy(env, h.Env(dedupStoreURL(database), tables))
	return env
}

// function is the function as the handler wants it; source is set when code is uploaded.
func (d *Driver) function(h *spec.Handler, email, database string, source *functionspb.StorageSource) *functionspb.Function {
	env := Env(h, database)
	f := &functionspb.Function{
		Name:        d.functionName(d.names(h.Name).Function),
		Description: describe(h.Name, h.Function.SourceHash, h.Function.MaxConcurrency),
		Environment: functionspb.Environment_GEN_2,
		Labels:      labelsFor(h),
		BuildConfig: &functionspb.BuildConfig{Runtime: rules.Runtimes[h.Function.Runtime].Name, EntryPoint: h.Function.EntryPoint},
		ServiceConfig: &functionspb.ServiceConfig{
			AvailableMemory: strconv.FormatInt(h.Function.MemoryMB, 10) + "Mi",
			TimeoutSeconds:  int32(h.Function.TimeoutS),
			// One request per instance: max_concurrency is then the number of concurrent invocations.
			MaxInstanceRequestConcurrency: 1,
			MaxInstanceCount:              int32(h.Function.MaxConcurrency),
			EnvironmentVariables:          env,
			ServiceAccountEmail:           email,
			// Only Pub/Sub pushes from within the project reach it; its callers need run.invoker too.
			IngressSettings:            functionspb.ServiceConfig_ALLOW_INTERNAL_ONLY,
			AllTrafficOnLatestRevision: true,
		},
	}
	if source != nil {
		f.BuildConfig.Source = &functionspb.Source{Source: &functionspb.Source_StorageSource{StorageSource: source}}
	}
	return f
}

// createFunction uploads the code and creates the function, waiting for its build and deployment.
func (d *Driver) createFunction(ctx context.Context, h *spec.Handler, code *driver.Code, email, database string) (*functionspb.Function, error) {
	id := d.names(h.Name).Function
	source, err := d.upload(ctx, code)
	if err != nil {
		return nil, fail(driver.Function, "creating", id, err)
	}
	want := d.function(h, email, database, source)
	// As in create, but Google may answer "already exists" from the call or from its operation.
	retry, acted := d.tracked()
	op, err := d.functions.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: d.parent(), FunctionId: id, Function: want}, retry)
	if err != nil && codeOf(err) != driver.AlreadyExists {
		return nil, fail(driver.Function, "creating", id, err)
	}
	var fn *functionspb.Function
	if err == nil {
		fn, err = wait(ctx, op, d.retry)
	}
	if codeOf(err) == driver.AlreadyExists && acted.Load() {
		if f, rerr := d.readFunction(ctx, want.GetName(), false); rerr == nil && f != nil && f.fn.GetLabels()[HandlerLabel] == h.Name {
			return d.settled(ctx, want.GetName()) // made by the attempt whose response was lost
		}
	}
	return fn, fail(driver.Function, "building and deploying", id, err)
}

// settled waits until the function has left DEPLOYING and returns it.
func (d *Driver) settled(ctx context.Context, name string) (*functionspb.Function, error) {
	var fn *functionspb.Function
	err := plumbing.PollNew(ctx, newResourceGrace, isNotFound, func() (bool, error) {
		var err error
		fn, err = d.functions.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: name}, d.retry)
		return err == nil && fn.GetState() != functionspb.Function_DEPLOYING, err
	})
	if err == nil && fn.GetState() != functionspb.Function_ACTIVE {
		err = fmt.Errorf("the function is %s: %v", fn.GetState(), fn.GetStateMessages())
	}
	return fn, fail(driver.Function, "waiting for", name, err)
}

// updateFunction brings the function to the handler's settings in place, with new code when given.
func (d *Driver) updateFunction(ctx context.Context, cur *functionspb.Function, h *spec.Handler, code *driver.Code, email, database string) (*functionspb.Function, error) {
	var source *functionspb.StorageSource
	if _, hash, _ := described(cur.GetDescription()); code != nil && code.Hash != hash {
		var err error
		if source, err = d.upload(ctx, code); err != nil {
			return nil, fail(driver.Function, "updating", cur.GetName(), err)
		}
	}
	want := d.function(h, email, database, source)
	paths := functionChanges(cur, want)
	if len(paths) == 0 {
		return cur, nil
	}
	op, err := d.functions.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{Function: want, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}}, d.retry)
	if err != nil {
		return nil, fail(driver.Function, "updating", cur.GetName(), err)
	}
	fn, err := wait(ctx, op, d.retry)
	return fn, fail(driver.Function, "building and deploying", cur.GetName(), err)
}

// functionChanges lists the update mask that turns have into want.
func functionChanges(have, want *functionspb.Function) []string {
	var paths []string
	add := func(path string, differ bool) {
		if differ {
			paths = append(paths, path)
		}
	}
	hs, ws := have.GetServiceConfig(), want.GetServiceConfig()
	add("description", have.GetDescription() != want.GetDescription())
	add("labels", !maps.Equal(have.GetLabels(), want.GetLabels()))
	add("build_config.runtime", have.GetBuildConfig().GetRuntime() != want.GetBuildConfig().GetRuntime())
	add("build_config.entry_point", have.GetBuildConfig().GetEntryPoint() != want.GetBuildConfig().GetEntryPoint())
	add("build_config.source", want.GetBuildConfig().GetSource() != nil)
	add("service_config.available_memory", hs.GetAvailableMemory() != ws.GetAvailableMemory())
	add("service_config.timeout_seconds", hs.GetTimeoutSeconds() != ws.GetTimeoutSeconds())
	// Unset (0) reads back as Google's default; it changes only when it was set before.
	_, _, wasUnset := described(have.GetDescription())
	add("service_config.max_instance_count", (ws.GetMaxInstanceCount() != 0 || !wasUnset) && hs.GetMaxInstanceCount() != ws.GetMaxInstanceCount())
	add("service_config.max_instance_request_concurrency", hs.GetMaxInstanceRequestConcurrency() != ws.GetMaxInstanceRequestConcurrency())
	add("service_config.environment_variables", !maps.Equal(hs.GetEnvironmentVariables(), ws.GetEnvironmentVariables()))
	add("service_config.service_account_email", hs.GetServiceAccountEmail() != ws.GetServiceAccountEmail())
	add("service_config.ingress_settings", hs.GetIngressSettings() != ws.GetIngressSettings())
	return paths
}

// readFunction returns nil when the function is gone; invoker also reads whether the handler's
// account may invoke its service.
func (d *Driver) readFunction(ctx context.Context, name string, invoker bool) (*functionSeen, error) {
	fn, err := d.functions.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: name}, d.retry)
	if found, err := codesOf.Exists(err); !found {
		return nil, fail(driver.Function, "reading", name, err)
	}
	s := &functionSeen{fn: fn}
	if invoker && fn.GetServiceConfig().GetService() != "" {
		p, err := getPolicy(ctx, d.run, fn.GetServiceConfig().GetService(), d.retry)
		if err != nil && !isNotFound(err) {
			return nil, fail(driver.Function, "reading the IAM policy of", fn.GetServiceConfig().GetService(), err)
		}
		s.invokerOK = p != nil && d.invoker(fn.GetServiceConfig().GetServiceAccountEmail()).in(p)
	}
	return s, nil
}

// invoker is the binding that lets the handler's account, whose OIDC token the push carries, call
// the function's Cloud Run service: the function is not public.
func (d *Driver) invoker(email string) binding {
	return binding{role: "roles/run.invoker", member: "serviceAccount:" + email}
}

func (d *Driver) grantInvoker(ctx context.Context, fn *functionspb.Function) error {
	service := fn.GetServiceConfig().GetService()
	if service == "" {
		return fail(driver.Function, "granting run.invoker on", fn.GetName(), errors.New("the function reports no Cloud Run service"))
	}
	return fail(driver.Function, "granting run.invoker on", service, d.grant(ctx, d.run, service, d.invoker(fn.GetServiceConfig().GetServiceAccountEmail()), false))
}

func (d *Driver) deleteFunction(ctx context.Context, name string) error {
	op, err := d.functions.DeleteFunction(ctx, &functionspb.DeleteFunctionRequest{Name: name}, d.retry)
	if err == nil {
		_, err = wait[struct{}](ctx, result[*functions.DeleteFunctionOperation]{op}, d.retry)
	}
	return fail(driver.Function, "deleting", name, codesOf.IgnoreNotFound(err))
}

// runtimeOf maps Google's runtime back to spec's name; one spec does not know stays as Google's.
func runtimeOf(r string) string {
	for _, n := range spec.RuntimeNames {
		if rt, ok := rules.Runtimes[n]; ok && rt.Name == r {
			return n
		}
	}
	return r
}

// memoryOf parses Google's memory ("256Mi", "1Gi", "512M") into MB.
func memoryOf(s string) int64 {
	for _, u := range []struct {
		suffix string
		mb     int64
	}{{"Gi", 1024}, {"G", 1000}, {"Mi", 1}, {"M", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, _ := strconv.ParseInt(n, 10, 64)
			return v * u.mb
		}
	}
	return 0
}

// userEnv is the function's environment less the variables the provider injects.
func userEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		if !strings.HasPrefix(k, spec.EnvPrefix) {
			out[k] = v
		}
	}
	return out
}
