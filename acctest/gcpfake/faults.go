package gcpfake

import (
	"context"
	"maps"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// Fault fails calls to one gRPC method.
type Fault struct {
	// Method names the method: its full name ("/google.cloud.functions.v2.FunctionService/CreateFunction"),
	// or a suffix after a dot or slash ("FunctionService/CreateFunction", "CreateFunction").
	Method string
	// Match, when set, must occur in the request's text form (a resource name, for example).
	Match string
	// Times is how many matching calls fail; 0 means one.
	Times int
	// Code and Message are the status returned (Code defaults to UNAVAILABLE).
	Code    codes.Code
	Message string
	// LoseResponse runs the call, so it takes effect, and then answers UNAVAILABLE instead of its
	// response, as when a response is lost on the way back. Code and Message are unused.
	LoseResponse bool
}

// AddFault arms f.
func (s *Server) AddFault(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Code == codes.OK {
		f.Code = codes.Unavailable
	}
	if f.Message == "" {
		f.Message = f.Method + " failed by the gcpfake test server"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Fail makes the next call to method fail with code.
func (s *Server) Fail(method string, code codes.Code) { s.AddFault(Fault{Method: method, Code: code}) }

// LoseResponse makes the next call to method take effect and answer UNAVAILABLE.
func (s *Server) LoseResponse(method string) { s.AddFault(Fault{Method: method, LoseResponse: true}) }

// Calls returns the number of calls per method ("google.cloud.functions.v2.FunctionService/GetFunction")
// since the last Reset or ResetCalls, faulted ones included.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Requests returns the methods called since the last Reset or ResetCalls, in order.
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

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	f := s.take(info.FullMethod, req)
	switch {
	case f == nil:
		return handler(ctx, req)
	case f.LoseResponse:
		_, _ = handler(ctx, req)
		return nil, status.Error(codes.Unavailable, "connection reset: the response was lost (gcpfake)")
	default:
		return nil, status.Error(f.Code, f.Message)
	}
}

// take counts a call and returns the fault it triggers, if any.
func (s *Server) take(method string, req any) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	short := strings.TrimPrefix(method, "/")
	s.calls[short]++
	s.log = append(s.log, short)
	text := ""
	if m, ok := req.(proto.Message); ok {
		text = prototext.Format(m)
	}
	for i, f := range s.faults {
		if methodMatches(method, f.Method) && strings.Contains(text, f.Match) {
			if f.Times--; f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func methodMatches(full, m string) bool {
	return full == m || strings.HasSuffix(full, "/"+m) || strings.HasSuffix(full, "."+m)
}
