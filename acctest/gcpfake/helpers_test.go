package gcpfake

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	functions "cloud.google.com/go/functions/apiv2"
	"cloud.google.com/go/functions/apiv2/functionspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const region = "europe-west1"

// start runs a fake for t with short operations.
func start(t *testing.T, opts Options) (*Server, context.Context) {
	t.Helper()
	t.Parallel()
	if opts.OperationDelay == 0 {
		opts.OperationDelay = 50 * time.Millisecond
	}
	s := Require(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return s, ctx
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: error %v, want code %v", what, err, want)
	}
}

func functionClient(t *testing.T, s *Server) *functions.FunctionClient {
	t.Helper()
	c, err := functions.NewFunctionClient(context.Background(), s.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// zipOf returns a zip archive holding one file.
func zipOf(t *testing.T, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// put uploads body to url with the given headers and returns the status code.
func put(t *testing.T, method, url string, body []byte, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// uploadSource uploads body as a function source and returns where it went.
func uploadSource(t *testing.T, ctx context.Context, c *functions.FunctionClient, s *Server, body []byte) *functionspb.StorageSource {
	t.Helper()
	u, err := c.GenerateUploadUrl(ctx, &functionspb.GenerateUploadUrlRequest{Parent: parent(s)})
	if err != nil {
		t.Fatal(err)
	}
	if code := put(t, http.MethodPut, u.GetUploadUrl(), body, map[string]string{"Content-Type": "application/zip"}); code != http.StatusOK {
		t.Fatalf("upload: status %d", code)
	}
	return u.GetStorageSource()
}

func parent(s *Server) string { return "projects/" + s.Project() + "/locations/" + region }

// newFunction is a valid function deployed from src.
func newFunction(src *functionspb.StorageSource) *functionspb.Function {
	return &functionspb.Function{
		BuildConfig: &functionspb.BuildConfig{
			Runtime: "nodejs22", EntryPoint: "handle",
			Source: &functionspb.Source{Source: &functionspb.Source_StorageSource{StorageSource: src}},
		},
		ServiceConfig: &functionspb.ServiceConfig{
			AvailableMemory: "256Mi", TimeoutSeconds: 60, MaxInstanceCount: 10,
			EnvironmentVariables: map[string]string{"THREEFACTOR_HANDLER": "orders"},
		},
		Labels: map[string]string{"managed-by": "threefactor"},
	}
}

// deploy creates function id from a fresh upload and waits for it.
func deploy(t *testing.T, ctx context.Context, c *functions.FunctionClient, s *Server, id string) *functionspb.Function {
	t.Helper()
	src := uploadSource(t, ctx, c, s, zipOf(t, "index.js", "exports.handle = () => {}"))
	op, err := c.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: parent(s), FunctionId: id, Function: newFunction(src)})
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", id, err)
	}
	fn, err := op.Wait(ctx)
	if err != nil {
		t.Fatalf("CreateFunction %s: Wait: %v", id, err)
	}
	return fn
}
