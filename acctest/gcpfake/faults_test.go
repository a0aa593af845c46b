package gcpfake

import (
	"testing"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"
)

// TestFaults: a failed call has no effect and fails only as often as asked; a lost response takes
// effect, so the caller's retry meets ALREADY_EXISTS; calls are counted.
func TestFaults(t *testing.T) {
	s, ctx := start(t, Options{})
	ic, fc := iamClient(t, s), functionClient(t, s)
	req := &adminpb.CreateServiceAccountRequest{Name: "projects/" + s.Project(), AccountId: "tf-orders-1a2b"}

	s.AddFault(Fault{Method: "IAM/CreateServiceAccount", Match: "tf-orders", Code: codes.PermissionDenied, Times: 2})
	for range 2 {
		_, err := ic.CreateServiceAccount(ctx, req)
		wantCode(t, "CreateServiceAccount with a fault", err, codes.PermissionDenied)
	}
	if got := s.ServiceAccounts(); len(got) != 0 {
		t.Errorf("a failed call made %v", got)
	}
	s.LoseResponse("CreateServiceAccount")
	_, err := ic.CreateServiceAccount(ctx, req)
	wantCode(t, "CreateServiceAccount with a lost response", err, codes.Unavailable)
	_, err = ic.CreateServiceAccount(ctx, req)
	wantCode(t, "CreateServiceAccount retried after a lost response", err, codes.AlreadyExists)
	if got := s.ServiceAccounts(); len(got) != 1 {
		t.Errorf("after a lost response: accounts %v, want the one made", got)
	}
	if got := s.Calls()["google.iam.admin.v1.IAM/CreateServiceAccount"]; got != 4 {
		t.Errorf("CreateServiceAccount calls = %d, want 4 (2 failed, 1 lost, 1 retried)", got)
	}

	src := uploadSource(t, ctx, fc, s, zipOf(t, "index.js", "x"))
	s.LoseResponse("FunctionService/CreateFunction")
	_, err = fc.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: parent(s), FunctionId: "orders", Function: newFunction(src)}, gax.WithRetry(nil))
	wantCode(t, "CreateFunction with a lost response", err, codes.Unavailable)
	if !s.WaitIdle(5 * time.Second) {
		t.Fatal("operations still pending")
	}
	if got := s.Functions(); len(got) != 1 || got[0].GetState() != functionspb.Function_ACTIVE {
		t.Errorf("after a lost CreateFunction response: %v, want the function ACTIVE", got)
	}

	s.Fail("GetOperation", codes.Internal)
	op, err := fc.DeleteFunction(ctx, &functionspb.DeleteFunctionRequest{Name: parent(s) + "/functions/orders"})
	if err != nil {
		t.Fatal(err)
	}
	err = op.Wait(ctx)
	wantCode(t, "Wait with a failed poll", err, codes.Internal)
	if err := op.Wait(ctx); err != nil {
		t.Errorf("Wait after the fault was spent: %v", err)
	}
	s.ResetCalls()
	s.Reset()
	if got := s.Leftovers(); len(got) != 0 || len(s.Calls()) != 0 {
		t.Errorf("after Reset: leftovers %q, calls %v", got, s.Calls())
	}
}
