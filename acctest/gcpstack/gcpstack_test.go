package gcpstack

import (
	"context"
	"errors"
	"os"
	"testing"

	functions "cloud.google.com/go/functions/apiv2"
	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/iam/apiv1/iampb"
	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
	"github.com/threefactor/terraform-provider-threefactor/acctest/gcpfake"
)

func TestMain(m *testing.M) {
	code := m.Run()
	gcloud.StopShared()
	os.Exit(code)
}

// TestOneAddress: through the stack's one address, the fakes' APIs answer, and Pub/Sub does what
// the emulator alone cannot: label updates, and IAM policies that exist only with their topic.
func TestOneAddress(t *testing.T) {
	ctx := context.Background()
	e := gcloud.PubSub(t)
	project := e.Project(t)
	s, err := Start(ctx, e.Host, gcpfake.Options{Project: project})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opts := gcloud.ClientOptions(s.Proxy.Addr)

	fns, err := functions.NewFunctionClient(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fns.Close() }()
	_, err = fns.ListFunctions(ctx, &functionspb.ListFunctionsRequest{Parent: "projects/" + project + "/locations/us-central1"}).Next()
	if err != nil && !errors.Is(err, iterator.Done) {
		t.Errorf("Cloud Functions through the stack: %v", err)
	}

	topics, err := pubsub.NewTopicAdminClient(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = topics.Close() }()
	name := "projects/" + project + "/topics/orders"
	if _, err := topics.CreateTopic(ctx, &pubsubpb.Topic{Name: name}); err != nil {
		t.Fatal(err)
	}
	_, err = topics.UpdateTopic(ctx, &pubsubpb.UpdateTopicRequest{Topic: &pubsubpb.Topic{Name: name, Labels: map[string]string{"team": "orders"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}}})
	if err != nil {
		t.Fatalf("label update through the stack: %v", err)
	}
	if got, err := topics.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: name}); err != nil || got.GetLabels()["team"] != "orders" {
		t.Errorf("topic read back with labels %v (%v), want team=orders", got.GetLabels(), err)
	}
	policy := &iampb.Policy{Bindings: []*iampb.Binding{{Role: "roles/pubsub.publisher", Members: []string{"user:dev@example.com"}}}}
	if _, err := topics.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: name, Policy: policy}); err != nil {
		t.Fatalf("IAM policy through the stack: %v", err)
	}
	if err := topics.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: name}); err != nil {
		t.Fatal(err)
	}
	_, err = topics.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: name})
	if status.Code(err) != codes.NotFound {
		t.Errorf("policy of a deleted topic: %v, want NOT_FOUND", err)
	}
}
