package azurefake

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Fault fails requests that match it.
type Fault struct {
	// Method is the HTTP method ("PUT"); empty matches any.
	Method string
	// Path is a pattern of the URL path, matched without case: "*" stands for any characters but
	// "/", "**" for any characters ("/subscriptions/*/resourceGroups/*/providers/Microsoft.Web/sites/*",
	// "**/queues/orders"). Empty matches any path.
	Path string
	// Op, when set, must equal the request's operation name as Calls counts it
	// ("Microsoft.ServiceBus/namespaces/queues/write", "scm/publish", "token").
	Op string
	// Times is how many matching requests fail; 0 means one.
	Times int
	// Status, Code and Message are the error answered (503 ServiceUnavailable by default, which the
	// SDK retries; 400 OperationFailed with FailOperation).
	Status  int
	Code    string
	Message string
	// LoseResponse serves the request, so it takes effect, then closes the connection instead of
	// answering, as when a response is lost on the way back. Status, Code and Message are unused.
	LoseResponse bool
	// FailOperation lets a long-running request start its operation and makes that operation end
	// Failed with Code and Message (a created resource stays, provisioningState Failed, as ARM
	// leaves it). On a request that starts no operation it fails the request like a plain fault.
	FailOperation bool

	re *regexp.Regexp
}

// AddFault arms f.
func (s *Server) AddFault(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Status == 0 {
		f.Status = http.StatusServiceUnavailable
		if f.FailOperation {
			f.Status = http.StatusBadRequest
		}
	}
	if f.Code == "" {
		f.Code = "ServiceUnavailable"
		if f.FailOperation {
			f.Code = "OperationFailed"
		}
	}
	if f.Message == "" {
		f.Message = "Injected by the azurefake test server."
	}
	f.re = globRegexp(f.Path)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Fail makes the next request of method on a path matching pattern fail with status and an ARM
// error of code.
func (s *Server) Fail(method, pattern string, status int, code string) {
	s.AddFault(Fault{Method: method, Path: pattern, Status: status, Code: code})
}

// LoseResponse makes the next request of method on a path matching pattern take effect and lose
// its response.
func (s *Server) LoseResponse(method, pattern string) {
	s.AddFault(Fault{Method: method, Path: pattern, LoseResponse: true})
}

// FailOperation makes the operation started by the next request of method on a path matching
// pattern end Failed with code.
func (s *Server) FailOperation(method, pattern, code string) {
	s.AddFault(Fault{Method: method, Path: pattern, Code: code, FailOperation: true})
}

// Calls returns the number of requests per operation since the last Reset or ResetCalls, faulted
// ones included. Operations are named after ARM's: "Microsoft.Web/sites/read",
// "Microsoft.Web/sites/write", "Microsoft.Web/sites/delete", "Microsoft.Web/sites/config/list/action",
// "Microsoft.Web/locations/operationStatuses/read" (a status poll), "Microsoft.Resources/subscriptions/resourceGroups/read";
// the SCM publish is "scm/publish", the token endpoint "token", its metadata "openid-configuration"
// and "instance-discovery".
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Requests returns "METHOD path" of every request since the last Reset or ResetCalls, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetCalls zeroes the counts and the request log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.log = map[string]int{}, nil
}

// count records a request and returns the fault it triggers, if any. Callers hold the lock.
func (s *Server) count(method, path, op string) *Fault {
	s.calls[op]++
	s.log = append(s.log, method+" "+path)
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.Op != "" && !strings.EqualFold(f.Op, op) {
			continue
		}
		if f.re != nil && !f.re.MatchString(path) {
			continue
		}
		if f.Times--; f.Times == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return f
	}
	return nil
}

func globRegexp(p string) *regexp.Regexp {
	if p == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("(?i)^")
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
