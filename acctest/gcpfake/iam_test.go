package gcpfake

import (
	"context"
	"strings"
	"testing"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/iam"
	admin "cloud.google.com/go/iam/admin/apiv1"
	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	resourcemanager "cloud.google.com/go/resourcemanager/apiv3"
	"cloud.google.com/go/resourcemanager/apiv3/resourcemanagerpb"
	run "cloud.google.com/go/run/apiv2"
	"google.golang.org/api/iterator"
	"google.golang.org/genproto/googleapis/type/expr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func iamClient(t *testing.T, s *Server) *admin.IamClient {
	t.Helper()
	c, err := admin.NewIamClient(context.Background(), s.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func projectsClient(t *testing.T, s *Server) *resourcemanager.ProjectsClient {
	t.Helper()
	c, err := resourcemanager.NewProjectsClient(context.Background(), s.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func createAccount(t *testing.T, ctx context.Context, c *admin.IamClient, s *Server, id string) *adminpb.ServiceAccount {
	t.Helper()
	sa, err := c.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{
		Name: "projects/" + s.Project(), AccountId: id, ServiceAccount: &adminpb.ServiceAccount{DisplayName: "handler " + id},
	})
	if err != nil {
		t.Fatalf("CreateServiceAccount %s: %v", id, err)
	}
	return sa
}

// TestServiceAccounts: create, read by email and unique id, list, delete; the id rules and
// NOT_FOUND / ALREADY_EXISTS as IAM answers them.
func TestServiceAccounts(t *testing.T) {
	s, ctx := start(t, Options{})
	c := iamClient(t, s)
	sa := createAccount(t, ctx, c, s, "tf-orders-1a2b")
	wantEmail := "tf-orders-1a2b@" + s.Project() + ".iam.gserviceaccount.com"
	if sa.GetEmail() != wantEmail || sa.GetUniqueId() == "" || sa.GetName() != "projects/"+s.Project()+"/serviceAccounts/"+wantEmail {
		t.Errorf("created account: %v", sa)
	}
	for _, name := range []string{sa.GetName(), "projects/-/serviceAccounts/" + wantEmail, "projects/-/serviceAccounts/" + sa.GetUniqueId()} {
		if got, err := c.GetServiceAccount(ctx, &adminpb.GetServiceAccountRequest{Name: name}); err != nil || got.GetEmail() != wantEmail {
			t.Errorf("GetServiceAccount(%s) = %v, %v", name, got.GetEmail(), err)
		}
	}
	_, err := c.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{Name: "projects/" + s.Project(), AccountId: "tf-orders-1a2b"})
	wantCode(t, "CreateServiceAccount of a taken id", err, codes.AlreadyExists)
	for _, id := range []string{"short", strings.Repeat("a", 31), "Upper-case1", "1starts-with-digit", "ends-with-hyphen-", "has_underscore"} {
		_, err := c.CreateServiceAccount(ctx, &adminpb.CreateServiceAccountRequest{Name: "projects/" + s.Project(), AccountId: id})
		wantCode(t, "CreateServiceAccount "+id, err, codes.InvalidArgument)
	}
	createAccount(t, ctx, c, s, "sixchr")
	createAccount(t, ctx, c, s, strings.Repeat("b", 30))
	it := c.ListServiceAccounts(ctx, &adminpb.ListServiceAccountsRequest{Name: "projects/" + s.Project(), PageSize: 2})
	n := 0
	for {
		_, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("ListServiceAccounts over pages of 2: %d accounts, want 3", n)
	}
	if err := c.DeleteServiceAccount(ctx, &adminpb.DeleteServiceAccountRequest{Name: sa.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetServiceAccount(ctx, &adminpb.GetServiceAccountRequest{Name: sa.GetName()})
	wantCode(t, "GetServiceAccount after delete", err, codes.NotFound)
	err = c.DeleteServiceAccount(ctx, &adminpb.DeleteServiceAccountRequest{Name: sa.GetName()})
	wantCode(t, "DeleteServiceAccount of a deleted account", err, codes.NotFound)
	if got := s.ServiceAccounts(); len(got) != 2 {
		t.Errorf("ServiceAccounts = %v, want 2", got)
	}
}

// TestProjectPolicy: the project's policy is read-modify-write with etags; conditions need version 3
// on both get and set; members are checked; a deleted account's bindings turn into deleted: members.
func TestProjectPolicy(t *testing.T) {
	owner := &iampb.Binding{Role: "roles/owner", Members: []string{"user:deployer@example.com"}}
	s, ctx := start(t, Options{ProjectBindings: []*iampb.Binding{owner}})
	pc, ic := projectsClient(t, s), iamClient(t, s)
	res := "projects/" + s.Project()
	sa := createAccount(t, ctx, ic, s, "tf-orders-1a2b")
	member := "serviceAccount:" + sa.GetEmail()

	v3 := &iampb.GetPolicyOptions{RequestedPolicyVersion: 3}
	p, err := pc.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: res, Options: v3})
	if err != nil {
		t.Fatal(err)
	}
	stale := p.GetEtag()
	cond := &expr.Expr{Title: "dedup database only", Expression: `resource.name.startsWith("projects/p/databases/threefactor")`}
	p.Version = 3
	p.Bindings = append(p.Bindings, &iampb.Binding{Role: "roles/datastore.user", Members: []string{member}, Condition: cond})
	if p, err = pc.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: p}); err != nil {
		t.Fatal(err)
	}
	if p.GetVersion() != 3 || len(p.GetBindings()) != 2 {
		t.Errorf("policy after set: %v", p)
	}
	_, err = pc.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: &iampb.Policy{Version: 3, Etag: stale, Bindings: p.GetBindings()}})
	wantCode(t, "SetIamPolicy with a stale etag", err, codes.Aborted)

	v1, err := pc.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: res})
	if err != nil {
		t.Fatal(err)
	}
	var withcond string
	for _, b := range v1.GetBindings() {
		if b.GetCondition() != nil {
			t.Errorf("version 1 read carries a condition: %v", b)
		}
		if strings.HasPrefix(b.GetRole(), "roles/datastore.user_withcond_") {
			withcond = b.GetRole()
		}
	}
	if v1.GetVersion() != 1 || withcond == "" {
		t.Errorf("version 1 read of a conditional policy: %v", v1)
	}
	_, err = pc.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: v1})
	wantCode(t, "SetIamPolicy of a version 1 read back", err, codes.InvalidArgument)

	p3, err := pc.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: res, Options: v3})
	if err != nil {
		t.Fatal(err)
	}
	p3.Version = 1
	_, err = pc.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: p3})
	wantCode(t, "SetIamPolicy of a condition at version 1", err, codes.InvalidArgument)
	for _, m := range []string{"serviceAccount:ghost-account@" + s.Project() + ".iam.gserviceaccount.com", "someone@example.com", "user:nobody"} {
		bad := &iampb.Policy{Version: 3, Bindings: []*iampb.Binding{{Role: "roles/viewer", Members: []string{m}}}}
		_, err = pc.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: res, Policy: bad})
		wantCode(t, "SetIamPolicy of member "+m, err, codes.InvalidArgument)
	}
	_, err = pc.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: res, Options: &iampb.GetPolicyOptions{RequestedPolicyVersion: 2}})
	wantCode(t, "GetIamPolicy of version 2", err, codes.InvalidArgument)

	want := "binding " + res + " roles/datastore.user " + member + " if dedup database only"
	if got := s.Leftovers(); len(got) != 2 || got[0] != want {
		t.Errorf("Leftovers = %q, want the conditional binding and the account (not the owner)", got)
	}
	if err := ic.DeleteServiceAccount(ctx, &adminpb.DeleteServiceAccountRequest{Name: sa.GetName()}); err != nil {
		t.Fatal(err)
	}
	p3, err = pc.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: res, Options: v3})
	if err != nil {
		t.Fatal(err)
	}
	deleted := "deleted:" + member + "?uid=" + sa.GetUniqueId()
	found := false
	for _, b := range p3.GetBindings() {
		for _, m := range b.GetMembers() {
			found = found || m == deleted
		}
	}
	if !found {
		t.Errorf("after the account's delete the policy is %v, want member %s", p3, deleted)
	}
}

// TestAccountPolicy: a service account's own policy, through the admin client's iam.Policy helpers.
func TestAccountPolicy(t *testing.T) {
	s, ctx := start(t, Options{})
	c := iamClient(t, s)
	sa := createAccount(t, ctx, c, s, "tf-orders-1a2b")
	p, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: sa.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	p.Add("user:deployer@example.com", iam.RoleName("roles/iam.serviceAccountUser"))
	if _, err := c.SetIamPolicy(ctx, &admin.SetIamPolicyRequest{Resource: sa.GetName(), Policy: p}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: sa.GetName()})
	if err != nil || !got.HasRole("user:deployer@example.com", "roles/iam.serviceAccountUser") {
		t.Errorf("account policy: %v, %v", got, err)
	}
	if _, err := c.SetIamPolicy(ctx, &admin.SetIamPolicyRequest{Resource: sa.GetName(), Policy: p}); err == nil {
		t.Error("SetIamPolicy with the etag of the first read succeeded twice; want ABORTED")
	}
	_, err = c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: "projects/-/serviceAccounts/ghost@" + s.Project() + ".iam.gserviceaccount.com"})
	wantCode(t, "GetIamPolicy of an unknown account", err, codes.NotFound)
}

// TestProject: the project by id and number; another project is PERMISSION_DENIED.
func TestProject(t *testing.T) {
	s, ctx := start(t, Options{Project: "acme-prod", ProjectNumber: 42})
	c := projectsClient(t, s)
	for _, name := range []string{"projects/acme-prod", "projects/42"} {
		p, err := c.GetProject(ctx, &resourcemanagerpb.GetProjectRequest{Name: name})
		if err != nil || p.GetName() != "projects/42" || p.GetProjectId() != "acme-prod" || p.GetState() != resourcemanagerpb.Project_ACTIVE {
			t.Errorf("GetProject(%s) = %v, %v", name, p, err)
		}
	}
	_, err := c.GetProject(ctx, &resourcemanagerpb.GetProjectRequest{Name: "projects/other"})
	wantCode(t, "GetProject of another project", err, codes.PermissionDenied)
}

// TestRunServicePolicy: a function's Cloud Run service has a policy once deployed, gone with it.
func TestRunServicePolicy(t *testing.T) {
	s, ctx := start(t, Options{})
	c, err := run.NewServicesClient(ctx, s.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	fc := functionClient(t, s)
	svc := "projects/" + s.Project() + "/locations/" + region + "/services/orders"
	_, err = c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: svc})
	wantCode(t, "GetIamPolicy before the function exists", err, codes.NotFound)
	fn := deploy(t, ctx, fc, s, "orders")
	if fn.GetServiceConfig().GetService() != svc {
		t.Fatalf("service %q, want %q", fn.GetServiceConfig().GetService(), svc)
	}
	sa := createAccount(t, ctx, iamClient(t, s), s, "tf-orders-1a2b")
	p, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: svc})
	if err != nil {
		t.Fatal(err)
	}
	p.Bindings = append(p.Bindings, &iampb.Binding{Role: "roles/run.invoker", Members: []string{"serviceAccount:" + sa.GetEmail()}})
	if _, err := c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: svc, Policy: p}); err != nil {
		t.Fatal(err)
	}
	if got := s.Policy(svc); len(got.GetBindings()) != 1 {
		t.Errorf("Policy(%s) = %v", svc, got)
	}
	op, err := fc.DeleteFunction(ctx, &functionspb.DeleteFunctionRequest{Name: fn.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: svc})
	wantCode(t, "GetIamPolicy after the function's delete", err, codes.NotFound)
	if got := s.Policy(svc); got != nil {
		t.Errorf("the service's policy outlived the function: %v", got)
	}
}

// TestGenericIAMPolicy: google.iam.v1.IAMPolicy, as the Pub/Sub proxy sends it, with a resource
// check.
func TestGenericIAMPolicy(t *testing.T) {
	s, ctx := start(t, Options{IAMResource: func(res string) error {
		if strings.HasSuffix(res, "/missing") {
			return status.Errorf(codes.NotFound, "Resource not found (resource=%s).", res)
		}
		return nil
	}})
	conn, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	c := iampb.NewIAMPolicyClient(conn)
	topic := "projects/" + s.Project() + "/topics/orders-dlq"
	p, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: topic})
	if err != nil {
		t.Fatal(err)
	}
	agent := "serviceAccount:service-" + "123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
	p.Bindings = []*iampb.Binding{{Role: "roles/pubsub.publisher", Members: []string{agent}}}
	if _, err := c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: topic, Policy: p}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: topic, Policy: p})
	wantCode(t, "second SetIamPolicy with the same etag", err, codes.Aborted)
	_, err = c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: "projects/p/topics/missing"})
	wantCode(t, "GetIamPolicy of a missing topic", err, codes.NotFound)
	s.DropPolicy(topic)
	if got := s.Leftovers(); len(got) != 0 {
		t.Errorf("Leftovers after DropPolicy = %q", got)
	}
}
