// Package gcptest is the drivertest.Harness of the Google driver: the fakes of the APIs with no
// emulator and the official Pub/Sub emulator behind a fault-injecting proxy, as package
// acctest/gcpstack assembles them (the emulator kit of cmd/threefactor runs the same). The
// driver's conformance tests and the provider's acceptance tests share it.
package gcptest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	fsadmin "cloud.google.com/go/firestore/apiv1/admin"
	fsadminpb "cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	functions "cloud.google.com/go/functions/apiv2"
	"cloud.google.com/go/functions/apiv2/functionspb"
	iamadmin "cloud.google.com/go/iam/admin/apiv1"
	"cloud.google.com/go/iam/admin/apiv1/adminpb"
	"cloud.google.com/go/iam/apiv1/iampb"
	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	resourcemanager "cloud.google.com/go/resourcemanager/apiv3"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/threefactor/terraform-provider-threefactor/acctest/gcloud"
	"github.com/threefactor/terraform-provider-threefactor/acctest/gcpfake"
	"github.com/threefactor/terraform-provider-threefactor/acctest/gcpstack"
	"github.com/threefactor/terraform-provider-threefactor/acctest/grpcproxy"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/gcpfunctions"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Region is where the harness's driver works.
const Region = "us-central1"

// Code is a minimal Node.js package.
var Code = func() *driver.Code {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("index.js")
	_, _ = w.Write([]byte("exports.handler = (req, res) => res.status(204).end();\n"))
	_ = zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return &driver.Code{Zip: buf.Bytes(), Hash: hex.EncodeToString(sum[:])}
}()

// Harness is the drivertest.Harness of the Google driver, on a gcpstack.Stack.
type Harness struct {
	Project string
	// Fake serves Cloud Functions, IAM, Cloud Run, Resource Manager, Firestore admin and Pub/Sub IAM.
	Fake *gcpfake.Server
	// PubSub is the emulator; Proxy stands in front of it (and routes its IAM calls to Fake).
	PubSub *gcloud.Emulator
	Proxy  *grpcproxy.Proxy
	// Firestore is the emulator of the data plane: the documents of tables, whose databases Fake
	// holds (deleting one there deletes its documents here).
	Firestore *gcloud.Emulator
	D         *gcpfunctions.Driver
	// Topics and Subs reach the emulator directly, for what tests do behind the driver's back.
	Topics  *pubsub.TopicAdminClient
	Subs    *pubsub.SubscriptionAdminClient
	stack   *gcpstack.Stack
	sources []string
}

// New starts the harness for t: fakes of its own and a project of its own on the shared emulator.
func New(ctx context.Context, t testing.TB) (*Harness, error) {
	e := gcloud.PubSub(t)
	h := &Harness{PubSub: e, Project: e.Project(t), Firestore: gcloud.Firestore(t)}
	stack, err := gcpstack.Start(ctx, e.Host, gcpfake.Options{Project: h.Project, DatabaseDeleted: h.dropDocuments})
	if err != nil {
		return nil, err
	}
	t.Cleanup(stack.Close)
	h.stack, h.Fake, h.Proxy, h.Topics, h.Subs = stack, stack.Fake, stack.Proxy, stack.Topics, stack.Subs
	h.D, err = gcpfunctions.New(ctx, gcpfunctions.Config{Project: h.Project, Region: Region, MaxRetries: 2, Endpoints: h.Endpoints()})
	return h, err
}

// dropDocuments deletes a database's documents from the Firestore emulator, as Google does when
// the database is deleted.
func (h *Harness) dropDocuments(name string) {
	_ = gcloud.ResetFirestore(context.Background(), h.Firestore.Host, h.Project, lastPart(name))
}

// PutItem implements drivertest.ItemPutter: a document with the key as its id in the table's
// collection, as the runtime library writes state.
func (h *Harness) PutItem(ctx context.Context, tableID, key string) error {
	conn, err := grpc.NewClient(h.Firestore.Host, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_, err = firestorepb.NewFirestoreClient(conn).CreateDocument(ctx, &firestorepb.CreateDocumentRequest{
		Parent: tableID + "/documents", CollectionId: lastPart(tableID), DocumentId: key,
		Document: &firestorepb.Document{Fields: map[string]*firestorepb.Value{"version": {ValueType: &firestorepb.Value_IntegerValue{IntegerValue: 1}}}},
	})
	return err
}

func lastPart(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// Pause turns the push subscription into a pull one behind the driver's back, as pausing it does.
func (h *Harness) Pause(ctx context.Context, st driver.State) error {
	return h.Subs.ModifyPushConfig(ctx, &pubsubpb.ModifyPushConfigRequest{Subscription: st.Get(driver.Subscription), PushConfig: &pubsubpb.PushConfig{}})
}

// Endpoints is the provider's gcp.endpoints for this harness.
func (h *Harness) Endpoints() map[string]string {
	fake := "http://" + h.Fake.Addr()
	return map[string]string{"functions": fake, "iam": fake, "run": fake, "resourcemanager": fake, "firestore_admin": fake,
		"pubsub": "http://" + h.Proxy.Addr, "firestore": "http://" + h.Firestore.Host}
}

func (h *Harness) Driver() driver.Driver   { return h.D }
func (h *Harness) Cloud() *driver.Cloud    { return gcpfunctions.Cloud }
func (h *Harness) Code() *driver.Code      { return Code }
func (h *Harness) Close()                  {}
func (h *Harness) topic(id string) string  { return "projects/" + h.Project + "/topics/" + id }
func (h *Harness) isSource(id string) bool { return slices.Contains(h.sources, id) }

// createCalls is the call that creates each component, and a string its request holds.
var createCalls = map[driver.Component]struct{ method, match string }{
	driver.Identity:                     {"CreateServiceAccount", ""},
	driver.DedupTable:                   {"CreateDatabase", ""},
	driver.DeadLetter:                   {"/google.pubsub.v1.Publisher/CreateTopic", "--dlq"},
	gcpfunctions.DeadLetterSubscription: {"/google.pubsub.v1.Subscriber/CreateSubscription", "--dead-letters"},
	driver.Topic:                        {"/google.pubsub.v1.Publisher/CreateTopic", "--topic"},
	driver.Queue:                        {"/google.pubsub.v1.Publisher/CreateTopic", "--queue"},
	gcpfunctions.DedupGrant:             {"Projects/SetIamPolicy", ""},
	driver.Function:                     {"CreateFunction", ""},
	driver.Subscription:                 {"/google.pubsub.v1.Subscriber/CreateSubscription", "--push"},
}

// FailCreate implements drivertest.Harness: the next create of c fails with a code no client retries.
func (h *Harness) FailCreate(c driver.Component) {
	call := createCalls[c]
	if strings.HasPrefix(call.method, "/google.pubsub") {
		h.Proxy.Fail(grpcproxy.Fault{Method: call.method, Match: call.match, Code: codes.InvalidArgument})
		return
	}
	h.Fake.AddFault(gcpfake.Fault{Method: call.method, Code: codes.InvalidArgument})
}

// LoseCreateResponse makes the next create of c take effect and answer UNAVAILABLE.
func (h *Harness) LoseCreateResponse(c driver.Component) {
	call := createCalls[c]
	if strings.HasPrefix(call.method, "/google.pubsub") {
		h.Proxy.Fail(grpcproxy.Fault{Method: call.method, Match: call.match, LoseResponse: true})
		return
	}
	h.Fake.AddFault(gcpfake.Fault{Method: call.method, LoseResponse: true})
}

// Remove implements drivertest.Harness, with the official clients of the fakes and the emulator.
func (h *Harness) Remove(ctx context.Context, st driver.State, c driver.Component) error {
	id := st.Get(c)
	fake := h.Fake.ClientOptions()
	switch c {
	case driver.DeadLetter, driver.Topic, driver.Queue:
		h.Fake.DropPolicy(id)
		return h.Topics.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: id})
	case driver.Subscription, gcpfunctions.DeadLetterSubscription:
		h.Fake.DropPolicy(id)
		return h.Subs.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: id})
	case driver.Identity:
		c, err := iamadmin.NewIamClient(ctx, fake...)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		return c.DeleteServiceAccount(ctx, &adminpb.DeleteServiceAccountRequest{Name: "projects/" + h.Project + "/serviceAccounts/" + id})
	case driver.DedupTable:
		c, err := fsadmin.NewFirestoreAdminClient(ctx, fake...)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		op, err := c.DeleteDatabase(ctx, &fsadminpb.DeleteDatabaseRequest{Name: id})
		if err == nil {
			_, err = op.Wait(ctx)
		}
		return err
	case driver.Function:
		c, err := functions.NewFunctionClient(ctx, fake...)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		op, err := c.DeleteFunction(ctx, &functionspb.DeleteFunctionRequest{Name: id})
		if err == nil {
			err = op.Wait(ctx)
		}
		return err
	case gcpfunctions.DedupGrant:
		c, err := resourcemanager.NewProjectsClient(ctx, fake...)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		resource := "projects/" + h.Project
		p, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: resource, Options: &iampb.GetPolicyOptions{RequestedPolicyVersion: 3}})
		if err != nil {
			return err
		}
		p.Bindings = slices.DeleteFunc(p.Bindings, func(b *iampb.Binding) bool { return b.GetRole() == "roles/datastore.user" })
		_, err = c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: resource, Policy: p})
		return err
	}
	return fmt.Errorf("gcptest: cannot remove component %s", c)
}

// Leftovers implements drivertest.Harness: what the fakes hold, and the project's topics and
// subscriptions on the emulator, less the sources ExistingSource made.
func (h *Harness) Leftovers(ctx context.Context) ([]string, error) {
	var left []string
	for _, l := range h.Fake.Leftovers() {
		// A binding on a topic or subscription the emulator no longer has died with it on Google.
		if f := strings.Fields(l); len(f) > 1 && f[0] == "binding" && strings.Contains(f[1], "/") && h.stack.PubSubResource(f[1]) != nil &&
			(strings.Contains(f[1], "/topics/") || strings.Contains(f[1], "/subscriptions/")) {
			continue
		}
		left = append(left, l)
	}
	topics := h.Topics.ListTopics(ctx, &pubsubpb.ListTopicsRequest{Project: "projects/" + h.Project})
	for {
		t, err := topics.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, err
		}
		if !h.isSource(t.GetName()) {
			left = append(left, t.GetName())
		}
	}
	subs := h.Subs.ListSubscriptions(ctx, &pubsubpb.ListSubscriptionsRequest{Project: "projects/" + h.Project})
	for {
		s, err := subs.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, err
		}
		left = append(left, s.GetName())
	}
	return left, nil
}

// ExistingSource implements drivertest.Harness: a topic no handler owns.
func (h *Harness) ExistingSource(ctx context.Context, kind spec.TriggerKind) (string, error) {
	name := h.topic(fmt.Sprintf("existing-%s-%d", kind, len(h.sources)))
	if _, err := h.Topics.CreateTopic(ctx, &pubsubpb.Topic{Name: name}); err != nil {
		return "", err
	}
	h.sources = append(h.sources, name)
	return name, nil
}

// RemoveTTL removes a field's TTL policy behind the driver's back.
func (h *Harness) RemoveTTL(ctx context.Context, field string) error {
	c, err := fsadmin.NewFirestoreAdminClient(ctx, h.Fake.ClientOptions()...)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	op, err := c.UpdateField(ctx, &fsadminpb.UpdateFieldRequest{Field: &fsadminpb.Field{Name: field}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ttl_config"}}})
	if err == nil {
		_, err = op.Wait(ctx)
	}
	return err
}

// SetProjectPolicy writes the project's IAM policy behind the driver's back.
func (h *Harness) SetProjectPolicy(ctx context.Context, p *iampb.Policy) error {
	c, err := resourcemanager.NewProjectsClient(ctx, h.Fake.ClientOptions()...)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	p.Version, p.Etag = 3, nil
	_, err = c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: "projects/" + h.Project, Policy: p})
	return err
}
