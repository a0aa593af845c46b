package azurefake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// env is a fake with a credential from its token endpoint and client options for arm* clients.
type env struct {
	s    *Server
	cred azcore.TokenCredential
	opts *arm.ClientOptions
	sub  string
	rg   string
	ctx  context.Context
}

// newEnv starts a fake whose operations answer retry-after-ms 5, so the SDK's pollers run at once.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	if opts.RetryAfter == 0 {
		opts.RetryAfter = 5 * time.Millisecond
	}
	s := Require(t, opts)
	cred, err := s.Credential()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	o := s.ClientOptions()
	o.DisableRPRegistration = true
	return &env{s: s, cred: cred, opts: o, sub: s.Subscription(), rg: s.ResourceGroup(), ctx: ctx}
}

// wantCode fails t unless err is an ARM response error with status and code.
func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Errorf("%s: error %v, want %d %s", what, err, status, code)
		return
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Errorf("%s: %d %s, want %d %s (%v)", what, re.StatusCode, re.ErrorCode, status, code, err)
	}
}

func must[T any](t *testing.T, what string) func(v T, err error) T {
	t.Helper()
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// poll runs a poller to the end with a short frequency.
func poll[T any](ctx context.Context, p *runtime.Poller[T], err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	return p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
}

// rawGet sends an authenticated GET through an arm pipeline and returns the response.
func (e *env) raw(t *testing.T, method, path string) *http.Response {
	t.Helper()
	c, err := arm.NewClient("azurefake.test", "v0.0.1", e.cred, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	req, err := runtime.NewRequest(e.ctx, method, e.s.URL()+path)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestMain doubles as the child process of TestSSLCertFile: with AZUREFAKE_CHILD_URL set, it GETs
// that URL with Go's default client (which trusts SSL_CERT_FILE) and exits 0 on a 200.
func TestMain(m *testing.M) {
	if u := os.Getenv("AZUREFAKE_CHILD_URL"); u != "" {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+os.Getenv("AZUREFAKE_CHILD_TOKEN"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Println(resp.Status)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
