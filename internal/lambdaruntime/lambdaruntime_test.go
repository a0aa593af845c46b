package lambdaruntime_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/lambdaruntime"
)

// runtimeClient plays a function process: it asks for the next invocation and answers it with
// answer(event) on path kind ("response" or "error"), until the server goes away.
func runtimeClient(t *testing.T, s *lambdaruntime.Server, answer func(event string) (kind, body string)) {
	t.Helper()
	go func() {
		for {
			resp, err := http.Get("http://" + s.Addr() + "/2018-06-01/runtime/invocation/next")
			if err != nil {
				return
			}
			ev, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
			if id == "" || resp.Header.Get("Lambda-Runtime-Deadline-Ms") == "" {
				return
			}
			kind, body := answer(string(ev))
			r, err := http.Post("http://"+s.Addr()+"/2018-06-01/runtime/invocation/"+id+"/"+kind, "application/json", strings.NewReader(body))
			if err != nil {
				return
			}
			_ = r.Body.Close()
		}
	}()
}

func TestServesManyInvocations(t *testing.T) {
	s, err := lambdaruntime.New("arn:aws:lambda:us-east-1:123456789012:function:f")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runtimeClient(t, s, func(ev string) (string, string) {
		if ev == "bad" {
			return "error", `{"errorMessage":"bad"}`
		}
		return "response", "echo " + ev
	})
	ctx := context.Background()
	for _, ev := range []string{"a", "b", "c"} {
		r, err := s.Invoke(ctx, []byte(ev), time.Minute)
		if err != nil || r.FunctionError || string(r.Body) != "echo "+ev {
			t.Fatalf("Invoke(%s) = %+v (%q), %v; want the echo", ev, r, r.Body, err)
		}
	}
	if r, err := s.Invoke(ctx, []byte("bad"), time.Minute); err != nil || !r.FunctionError || !strings.Contains(string(r.Body), "bad") {
		t.Errorf("Invoke(bad) = %+v, %v; want a function error", r, err)
	}
}

func TestInvokeEndsWithContext(t *testing.T) {
	s, err := lambdaruntime.New("f")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// No process asks: the invocation ends with its context, as a timeout.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Invoke(ctx, []byte("x"), time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Invoke with no process = %v; want the context's error", err)
	}
}

func TestInitError(t *testing.T) {
	s, err := lambdaruntime.New("f")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := http.Post("http://"+s.Addr()+"/2018-06-01/runtime/init/error", "application/json", strings.NewReader(`{"errorMessage":"no table"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Body.Close()
	if _, err := s.Invoke(context.Background(), []byte("x"), time.Minute); !errors.Is(err, lambdaruntime.ErrInit) || !strings.Contains(err.Error(), "no table") {
		t.Errorf("Invoke after an init error = %v; want ErrInit with its message", err)
	}
}

func TestInvokeTimesOut(t *testing.T) {
	s, err := lambdaruntime.New("f")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	release := make(chan struct{})
	defer close(release)
	runtimeClient(t, s, func(string) (string, string) { <-release; return "response", "late" })
	if _, err := s.Invoke(context.Background(), []byte("x"), 50*time.Millisecond); !errors.Is(err, lambdaruntime.ErrTimeout) {
		t.Errorf("Invoke of a process that never answers = %v; want ErrTimeout", err)
	}
}
