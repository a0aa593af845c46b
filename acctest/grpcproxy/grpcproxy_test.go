package grpcproxy

import (
	"context"
	"net"
	"testing"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// iamFake answers GetIamPolicy with a fixed policy and echoes the x-test metadata it got in a
// header and a trailer.
type iamFake struct {
	iampb.UnimplementedIAMPolicyServer
}

func (iamFake) GetIamPolicy(ctx context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-echo", firstOf(md.Get("x-test"))))
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t"))
	if req.GetResource() == "missing" {
		return nil, status.Error(codes.NotFound, "no such resource")
	}
	return &iampb.Policy{Version: 3, Etag: []byte("fake:" + req.GetResource())}, nil
}

func firstOf(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// startIAMFake serves iamFake on a free loopback port.
func startIAMFake(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	iampb.RegisterIAMPolicyServer(s, iamFake{})
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

func iamClient(t *testing.T, addr string) iampb.IAMPolicyClient {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return iampb.NewIAMPolicyClient(conn)
}

const getPolicy = "/google.iam.v1.IAMPolicy/GetIamPolicy"

// TestForwardAndFaults: calls pass with their metadata, header, trailer and status; faults match by
// method, service prefix and request bytes, take the number of calls asked, and delay; every call is
// counted.
func TestForwardAndFaults(t *testing.T) {
	p := ForTest(t, startIAMFake(t))
	c := iamClient(t, p.Addr)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-test", "hello")

	var header, trailer metadata.MD
	got, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: "topics/a"}, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil || string(got.GetEtag()) != "fake:topics/a" {
		t.Fatalf("GetIamPolicy through the proxy: %v, %v", got, err)
	}
	if firstOf(header.Get("x-echo")) != "hello" || firstOf(trailer.Get("x-trailer")) != "t" {
		t.Errorf("header %v, trailer %v: metadata, header or trailer not forwarded", header, trailer)
	}
	if _, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: "missing"}); status.Code(err) != codes.NotFound {
		t.Errorf("backend's NotFound: got %v", err)
	}

	p.Fail(Fault{Method: getPolicy, Match: "topics/dlq", Times: 2, Code: codes.PermissionDenied, Message: "no"})
	p.Fail(Fault{Method: "/google.iam.v1.IAMPolicy/"})
	for range 2 {
		_, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: "topics/dlq"})
		if s, _ := status.FromError(err); s.Code() != codes.PermissionDenied || s.Message() != "no" {
			t.Errorf("matching call: %v, want PermissionDenied no", err)
		}
	}
	if len(p.Unspent()) != 1 {
		t.Errorf("Unspent = %v, want the service-wide fault only", p.Unspent())
	}
	if _, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: "topics/dlq"}); status.Code(err) != codes.Internal {
		t.Errorf("call after the matching fault was spent: %v, want the service fault's default Internal", err)
	}
	if _, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: "topics/dlq"}); err != nil {
		t.Errorf("call after every fault was spent: %v", err)
	}

	p.Fail(Fault{Method: getPolicy, Delay: 300 * time.Millisecond})
	start := time.Now()
	if _, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: "a"}); err != nil || time.Since(start) < 300*time.Millisecond {
		t.Errorf("delayed call: %v after %v", err, time.Since(start))
	}
	p.Fail(Fault{Method: getPolicy, Delay: time.Second})
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := c.GetIamPolicy(short, &iampb.GetIamPolicyRequest{Resource: "a"}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("call delayed past its deadline: %v, want DeadlineExceeded", err)
	}
	if _, err := c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: "a"}); status.Code(err) != codes.Unimplemented {
		t.Errorf("SetIamPolicy, which the fake does not implement: %v, want Unimplemented", err)
	}

	want := map[string]int{getPolicy: 8, "/google.iam.v1.IAMPolicy/SetIamPolicy": 1}
	if got := p.Calls(); len(got) != len(want) || got[getPolicy] != want[getPolicy] || got["/google.iam.v1.IAMPolicy/SetIamPolicy"] != 1 {
		t.Errorf("Calls = %v, want %v", got, want)
	}
	if n := len(p.Requests()); n != 9 {
		t.Errorf("Requests has %d calls, want 9", n)
	}
	p.Reset()
	if len(p.Calls()) != 0 || len(p.Unspent()) != 0 {
		t.Errorf("after Reset: calls %v, faults %v", p.Calls(), p.Unspent())
	}
}

func TestMatchMethod(t *testing.T) {
	for _, c := range []struct {
		pattern, method string
		want            bool
	}{
		{"", getPolicy, true},
		{getPolicy, getPolicy, true},
		{"/google.iam.v1.IAMPolicy/", getPolicy, true},
		{"/google.iam.v1.IAMPolicy/Get", getPolicy, false},
		{"/google.pubsub.v1.Publisher/", getPolicy, false},
	} {
		if got := matchMethod(c.pattern, c.method); got != c.want {
			t.Errorf("matchMethod(%q, %q) = %v", c.pattern, c.method, got)
		}
	}
}
