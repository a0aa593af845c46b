package runner

import (
	"os"
	"strings"
	"sync"
	"testing"
)

// TestSandboxesOwnRuntimeAPI: sandboxes started at once from one environment (the workers of a
// handler) each get their own runtime API; two sharing one leave the other never asked.
func TestSandboxesOwnRuntimeAPI(t *testing.T) {
	env := make([]string, 1, 64) // spare capacity, as an environment built by appends has
	env[0] = "PATH=" + os.Getenv("PATH")
	p := process{argv: []string{"sh", "-c", `echo "$AWS_LAMBDA_RUNTIME_API"`}}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			var seen []string
			var mu sync.Mutex
			sb, err := start(&Handler{FunctionARN: "f"}, p, t.TempDir(), env, func(l string) {
				mu.Lock()
				seen = append(seen, l)
				mu.Unlock()
			})
			if err != nil {
				t.Error(err)
				return
			}
			<-sb.exited
			sb.api.Close()
			if got := strings.Join(seen, ","); got != sb.api.Addr() {
				t.Errorf("the process saw runtime API %q, want its own %s", got, sb.api.Addr())
			}
		})
	}
	wg.Wait()
}
