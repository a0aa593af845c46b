package gcpfake

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// TestFunctionLifecycle: a function uploaded, created, invoked, updated under a mask and deleted
// through the official client; its operations are polled to the end by the client's Wait.
func TestFunctionLifecycle(t *testing.T) {
	var (
		mu     sync.Mutex
		hooked []string
	)
	s, ctx := start(t, Options{Invoke: func(fn *functionspb.Function, zip []byte, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		hooked = append(hooked, fn.GetName()+" "+string(body))
		mu.Unlock()
		if len(zip) == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}})
	c := functionClient(t, s)
	src := uploadSource(t, ctx, c, s, zipOf(t, "index.js", "exports.handle = () => {}"))
	op, err := c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: parent(s), FunctionId: "orders-placed", Function: newFunction(src)})
	if err != nil {
		t.Fatal(err)
	}
	if op.Done() {
		t.Error("CreateFunction's operation is done at once; want it running")
	}
	name := parent(s) + "/functions/orders-placed"
	if got, err := c.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: name}); err != nil || got.GetState() != functionspb.Function_DEPLOYING {
		t.Errorf("GetFunction while deploying: state %v, %v; want DEPLOYING", got.GetState(), err)
	}
	fn, err := op.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantService := "projects/" + s.Project() + "/locations/" + region + "/services/orders-placed"
	if fn.GetState() != functionspb.Function_ACTIVE || fn.GetServiceConfig().GetService() != wantService ||
		!strings.HasPrefix(fn.GetServiceConfig().GetUri(), s.HTTPURL()+"/functions/") {
		t.Errorf("created function: state %v, service %q, uri %q", fn.GetState(), fn.GetServiceConfig().GetService(), fn.GetServiceConfig().GetUri())
	}
	if meta, err := op.Metadata(); err != nil || meta.GetTarget() != name || meta.GetOperationType() != functionspb.OperationType_CREATE_FUNCTION {
		t.Errorf("operation metadata %v, %v", meta, err)
	}

	resp, err := http.Post(fn.GetServiceConfig().GetUri(), "application/json", strings.NewReader(`{"m":1}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusAccepted || len(hooked) != 1 || hooked[0] != name+` {"m":1}` {
		t.Errorf("invocation: status %d, hook saw %q", resp.StatusCode, hooked)
	}
	if inv := s.Invocations(); len(inv) != 1 || inv[0].Status != http.StatusAccepted || inv[0].Function != name {
		t.Errorf("Invocations = %+v", inv)
	}

	list := c.ListFunctions(ctx, &functionspb.ListFunctionsRequest{Parent: parent(s)})
	if got, err := list.Next(); err != nil || got.GetName() != name {
		t.Errorf("ListFunctions: %v, %v", got.GetName(), err)
	}

	up, err := c.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{
		Function:   &functionspb.Function{Name: name, ServiceConfig: &functionspb.ServiceConfig{AvailableMemory: "1Gi", TimeoutSeconds: 900}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"service_config.available_memory"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fn, err = up.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc := fn.GetServiceConfig()
	if sc.GetAvailableMemory() != "1Gi" || sc.GetTimeoutSeconds() != 60 || sc.GetEnvironmentVariables()["THREEFACTOR_HANDLER"] != "orders" || fn.GetBuildConfig().GetRuntime() != "nodejs22" {
		t.Errorf("after a masked update: memory %q timeout %d env %v runtime %q; want only the memory changed",
			sc.GetAvailableMemory(), sc.GetTimeoutSeconds(), sc.GetEnvironmentVariables(), fn.GetBuildConfig().GetRuntime())
	}
	_, err = c.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{
		Function:   &functionspb.Function{Name: name},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"service_config.uri"}},
	})
	wantCode(t, "UpdateFunction of an output field", err, codes.InvalidArgument)

	del, err := c.DeleteFunction(ctx, &functionspb.DeleteFunctionRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteFunction(ctx, &functionspb.DeleteFunctionRequest{Name: name})
	wantCode(t, "DeleteFunction while deleting", err, codes.Aborted)
	if err := del.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: name})
	wantCode(t, "GetFunction after delete", err, codes.NotFound)
	_, err = c.DeleteFunction(ctx, &functionspb.DeleteFunctionRequest{Name: name})
	wantCode(t, "DeleteFunction of a deleted function", err, codes.NotFound)
	_, err = c.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{Function: &functionspb.Function{Name: name}})
	wantCode(t, "UpdateFunction of a deleted function", err, codes.NotFound)
	if got := s.Leftovers(); len(got) != 0 {
		t.Errorf("Leftovers after delete = %q", got)
	}
	resp, err = http.Post(fn.GetServiceConfig().GetUri(), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("invoking a deleted function: status %d, want 404", resp.StatusCode)
	}
}

// TestFunctionAlreadyExists: as documented, the operation (not the call) fails with ALREADY_EXISTS.
func TestFunctionAlreadyExists(t *testing.T) {
	s, ctx := start(t, Options{})
	c := functionClient(t, s)
	deploy(t, ctx, c, s, "orders")
	src := uploadSource(t, ctx, c, s, zipOf(t, "index.js", "x"))
	op, err := c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: parent(s), FunctionId: "orders", Function: newFunction(src)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = op.Wait(ctx)
	wantCode(t, "Wait of a second CreateFunction", err, codes.AlreadyExists)
}

// TestFunctionValidation: each rule the provider must respect refuses a function at once.
func TestFunctionValidation(t *testing.T) {
	s, ctx := start(t, Options{})
	c := functionClient(t, s)
	src := uploadSource(t, ctx, c, s, zipOf(t, "index.js", "x"))
	for _, tc := range []struct {
		name   string
		id     string
		change func(*functionspb.Function)
	}{
		{"id with capitals", "Orders", nil},
		{"id too short", "ord", nil},
		{"id ending with a hyphen", "orders-", nil},
		{"id too long", strings.Repeat("a", 64), nil},
		{"no runtime", "", func(f *functionspb.Function) { f.BuildConfig.Runtime = "" }},
		{"decommissioned runtime", "", func(f *functionspb.Function) { f.BuildConfig.Runtime = "nodejs16" }},
		{"unknown runtime", "", func(f *functionspb.Function) { f.BuildConfig.Runtime = "go" }},
		{"memory off the tiers", "", func(f *functionspb.Function) { f.ServiceConfig.AvailableMemory = "300Mi" }},
		{"memory in MB", "", func(f *functionspb.Function) { f.ServiceConfig.AvailableMemory = "256MB" }},
		{"memory above 32Gi", "", func(f *functionspb.Function) { f.ServiceConfig.AvailableMemory = "64Gi" }},
		{"timeout above 3600", "", func(f *functionspb.Function) { f.ServiceConfig.TimeoutSeconds = 3601 }},
		{"negative timeout", "", func(f *functionspb.Function) { f.ServiceConfig.TimeoutSeconds = -1 }},
		{"max instances above 1000", "", func(f *functionspb.Function) { f.ServiceConfig.MaxInstanceCount = 1001 }},
		{"min above max instances", "", func(f *functionspb.Function) { f.ServiceConfig.MinInstanceCount = 11 }},
		{"concurrency under 1 vCPU", "", func(f *functionspb.Function) { f.ServiceConfig.MaxInstanceRequestConcurrency = 10 }},
		{"reserved environment variable", "", func(f *functionspb.Function) { f.ServiceConfig.EnvironmentVariables["PORT"] = "1" }},
		{"label key with capitals", "", func(f *functionspb.Function) { f.Labels["Team"] = "a" }},
		{"unknown service account", "", func(f *functionspb.Function) {
			f.ServiceConfig.ServiceAccountEmail = "nobody-here@" + s.Project() + ".iam.gserviceaccount.com"
		}},
		{"source never uploaded", "", func(f *functionspb.Function) {
			f.BuildConfig.Source.GetStorageSource().Object = "other.zip"
		}},
		{"no source", "", func(f *functionspb.Function) { f.BuildConfig.Source = nil }},
	} {
		fn := newFunction(&functionspb.StorageSource{Bucket: src.GetBucket(), Object: src.GetObject()})
		if tc.change != nil {
			tc.change(fn)
		}
		id := tc.id
		if id == "" {
			id = "valid-id"
		}
		_, err := c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: parent(s), FunctionId: id, Function: fn})
		wantCode(t, tc.name, err, codes.InvalidArgument)
	}
	fn := newFunction(src)
	fn.ServiceConfig.AvailableMemory, fn.ServiceConfig.MaxInstanceRequestConcurrency = "2G", 80
	if _, err := c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: parent(s), FunctionId: "concurrent", Function: fn}); err != nil {
		t.Errorf("2G with concurrency 80: %v", err)
	}
	_, err := c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: "projects/other-project/locations/" + region, FunctionId: "orders", Function: newFunction(src)})
	wantCode(t, "another project", err, codes.PermissionDenied)
	if got := s.Leftovers(); len(got) != 1 {
		t.Errorf("Leftovers = %q, want only the valid function", got)
	}
}

// TestUploadURL: the upload URL takes a PUT of application/zip without credentials only, as a
// signed URL does.
func TestUploadURL(t *testing.T) {
	s, ctx := start(t, Options{})
	c := functionClient(t, s)
	u, err := c.GenerateUploadUrl(ctx, &functionspb.GenerateUploadUrlRequest{Parent: parent(s)})
	if err != nil {
		t.Fatal(err)
	}
	body := zipOf(t, "main.py", "def handle(r): pass")
	for _, tc := range []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{"with a bearer token", http.MethodPut, map[string]string{"Content-Type": "application/zip", "Authorization": "Bearer ya29.x"}, http.StatusBadRequest},
		{"without a content type", http.MethodPut, nil, http.StatusForbidden},
		{"as octet-stream", http.MethodPut, map[string]string{"Content-Type": "application/octet-stream"}, http.StatusForbidden},
		{"with POST", http.MethodPost, map[string]string{"Content-Type": "application/zip"}, http.StatusForbidden},
	} {
		if got := put(t, tc.method, u.GetUploadUrl(), body, tc.header); got != tc.want {
			t.Errorf("upload %s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	src := u.GetStorageSource()
	if _, ok := s.Uploaded(src.GetBucket(), src.GetObject()); ok {
		t.Error("a refused upload was kept")
	}
	_, err = c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: parent(s), FunctionId: "orders", Function: newFunction(src)})
	wantCode(t, "CreateFunction before the upload", err, codes.InvalidArgument)
	if got := put(t, http.MethodPut, u.GetUploadUrl(), body, map[string]string{"Content-Type": "application/zip"}); got != http.StatusOK {
		t.Fatalf("upload: status %d", got)
	}
	if got, ok := s.Uploaded(src.GetBucket(), src.GetObject()); !ok || !bytes.Equal(got, body) {
		t.Error("the upload was not kept")
	}
	if got := put(t, http.MethodPut, strings.Replace(u.GetUploadUrl(), src.GetObject(), "forged.zip", 1), body, map[string]string{"Content-Type": "application/zip"}); got != http.StatusForbidden {
		t.Errorf("upload to a URL never handed out: status %d, want 403", got)
	}
	op, err := c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: parent(s), FunctionId: "orders", Function: newFunction(src)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.FunctionSource(parent(s) + "/functions/orders"); !ok || !bytes.Equal(got, body) {
		t.Error("FunctionSource is not the uploaded zip")
	}
}

// TestFunctionBuildFailure: a source that does not build fails the operation and leaves the function
// in state FAILED, to be deleted.
func TestFunctionBuildFailure(t *testing.T) {
	s, ctx := start(t, Options{})
	c := functionClient(t, s)
	src := uploadSource(t, ctx, c, s, []byte("not a zip"))
	op, err := c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: parent(s), FunctionId: "broken", Function: newFunction(src)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = op.Wait(ctx)
	wantCode(t, "Wait of a failed build", err, codes.InvalidArgument)
	fn, err := c.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: parent(s) + "/functions/broken"})
	if err != nil || fn.GetState() != functionspb.Function_FAILED || len(fn.GetStateMessages()) == 0 {
		t.Errorf("function after a failed build: %v, %v; want state FAILED with a message", fn, err)
	}
	if got := s.Leftovers(); len(got) != 1 || !strings.HasPrefix(got[0], "function ") {
		t.Errorf("Leftovers = %q, want the failed function", got)
	}
}

// TestFunctionUpdateMasks: masks naming a map, a whole message, or nothing (every updatable field);
// an update leaves the function ACTIVE with a new revision; listing across regions with "-".
func TestFunctionUpdateMasks(t *testing.T) {
	s, ctx := start(t, Options{})
	c := functionClient(t, s)
	fn := deploy(t, ctx, c, s, "orders")
	rev := fn.GetServiceConfig().GetRevision()
	update := func(mask []string, change *functionspb.Function) *functionspb.Function {
		t.Helper()
		change.Name = fn.GetName()
		req := &functionspb.UpdateFunctionRequest{Function: change}
		if mask != nil {
			req.UpdateMask = &fieldmaskpb.FieldMask{Paths: mask}
		}
		op, err := c.UpdateFunction(ctx, req)
		if err != nil {
			t.Fatalf("UpdateFunction %v: %v", mask, err)
		}
		got, err := op.Wait(ctx)
		if err != nil {
			t.Fatalf("UpdateFunction %v: Wait: %v", mask, err)
		}
		return got
	}
	got := update([]string{"labels", "service_config.environment_variables"}, &functionspb.Function{
		Labels:        map[string]string{"team": "orders"},
		ServiceConfig: &functionspb.ServiceConfig{EnvironmentVariables: map[string]string{"A": "1"}, AvailableMemory: "4Gi"},
	})
	if got.GetLabels()["team"] != "orders" || len(got.GetLabels()) != 1 || got.GetServiceConfig().GetEnvironmentVariables()["A"] != "1" ||
		got.GetServiceConfig().GetAvailableMemory() != "256Mi" || got.GetServiceConfig().GetRevision() == rev {
		t.Errorf("after a map mask: labels %v env %v memory %q revision %q", got.GetLabels(), got.GetServiceConfig().GetEnvironmentVariables(),
			got.GetServiceConfig().GetAvailableMemory(), got.GetServiceConfig().GetRevision())
	}
	got = update([]string{"labels"}, &functionspb.Function{})
	if len(got.GetLabels()) != 0 {
		t.Errorf("labels named by the mask and unset in the request: %v, want cleared", got.GetLabels())
	}
	got = update([]string{"serviceConfig.timeoutSeconds"}, &functionspb.Function{ServiceConfig: &functionspb.ServiceConfig{TimeoutSeconds: 300}})
	if got.GetServiceConfig().GetTimeoutSeconds() != 300 {
		t.Errorf("a mask in JSON names: timeout %d, want 300", got.GetServiceConfig().GetTimeoutSeconds())
	}
	whole := clone(got)
	whole.Description = "all fields"
	whole.ServiceConfig.MaxInstanceCount = 3
	got = update(nil, whole)
	if got.GetDescription() != "all fields" || got.GetServiceConfig().GetMaxInstanceCount() != 3 || got.GetState() != functionspb.Function_ACTIVE {
		t.Errorf("an update without a mask: %v", got)
	}
	_, err := c.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{
		Function:   &functionspb.Function{Name: fn.GetName(), BuildConfig: &functionspb.BuildConfig{Runtime: "nodejs12"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"build_config.runtime"}},
	})
	wantCode(t, "an update to a decommissioned runtime", err, codes.InvalidArgument)
	_, err = c.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{
		Function:   &functionspb.Function{Name: fn.GetName()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"service_config.no_such_field"}},
	})
	wantCode(t, "an update of an unknown field", err, codes.InvalidArgument)

	other := "projects/" + s.Project() + "/locations/us-central1"
	src := uploadSource(t, ctx, c, s, zipOf(t, "index.js", "x"))
	if _, err := c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: other, FunctionId: "orders", Function: newFunction(src)}); err != nil {
		t.Fatal(err)
	}
	var names []string
	it := c.ListFunctions(ctx, &functionspb.ListFunctionsRequest{Parent: "projects/" + s.Project() + "/locations/-", PageSize: 1})
	for {
		f, err := it.Next()
		if err != nil {
			break
		}
		names = append(names, f.GetName())
	}
	if len(names) != 2 {
		t.Errorf("ListFunctions across regions in pages of 1: %q, want 2", names)
	}
}
