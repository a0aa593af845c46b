package gcloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// DefaultDatabase is the id of a project's default Firestore database.
const DefaultDatabase = "(default)"

var (
	sharedMu sync.Mutex
	shared   = map[Kind]*sharedEmulator{}
	projects atomic.Int64
)

type sharedEmulator struct {
	once sync.Once
	e    *Emulator
	err  error
}

// PubSub returns the test binary's Pub/Sub emulator, starting it on first use. Tests share it: each
// takes a project of its own from Project, so they may run in parallel. Without the emulator
// installed it skips t, or fails it when CI=true, so CI never passes by skipping.
func PubSub(t testing.TB) *Emulator {
	t.Helper()
	return require(t, PubSubKind)
}

// Firestore returns the test binary's Firestore emulator, shared like PubSub's.
func Firestore(t testing.TB) *Emulator {
	t.Helper()
	return require(t, FirestoreKind)
}

func require(t testing.TB, kind Kind) *Emulator {
	t.Helper()
	sharedMu.Lock()
	s := shared[kind]
	if s == nil {
		s = &sharedEmulator{}
		shared[kind] = s
	}
	sharedMu.Unlock()
	s.once.Do(func() { s.e, s.err = Start(context.Background(), kind) })
	if errors.Is(s.err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(s.err)
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.e
}

// StopShared stops the emulators PubSub and Firestore started. Call it from TestMain after m.Run; an
// emulator left running dies with the test binary anyway, but stopping it is quicker and quieter.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for _, s := range shared {
		if s.e != nil {
			s.e.Close()
		}
	}
}

// Project returns a project id no other test of this binary uses (the emulators create projects on
// first use and validate no id), and when t ends deletes what t left in it: Pub/Sub subscriptions,
// snapshots and topics, or the documents of the Firestore databases named (by default only
// "(default)"; a named database's documents must be deleted on their own).
func (e *Emulator) Project(t testing.TB, databases ...string) string {
	t.Helper()
	p := fmt.Sprintf("test-project-%d", projects.Add(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Reset(ctx, p, databases...); err != nil {
			t.Errorf("resetting the %s emulator's project %s: %v", e.Kind, p, err)
		}
	})
	return p
}

// Reset deletes everything project holds on this emulator: on Pub/Sub its subscriptions (first, so
// none is left attached to a deleted topic), snapshots and topics; on Firestore the documents of the
// databases named, "(default)" when none is. It takes a few milliseconds, far less than a restart.
func (e *Emulator) Reset(ctx context.Context, project string, databases ...string) error {
	if e.Kind == PubSubKind {
		return resetPubSub(ctx, e.Host, project)
	}
	if len(databases) == 0 {
		databases = []string{DefaultDatabase}
	}
	for _, db := range databases {
		if err := ResetFirestore(ctx, e.Host, project, db); err != nil {
			return err
		}
	}
	return nil
}

// ResetFirestore deletes every document of a database on the Firestore emulator at host through its
// REST extension DELETE /emulator/v1/projects/{project}/databases/{database}/documents.
func ResetFirestore(ctx context.Context, host, project, database string) error {
	url := fmt.Sprintf("http://%s/emulator/v1/projects/%s/databases/%s/documents", host, project, database)
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("DELETE %s: %s", url, resp.Status)
	}
	return nil
}

func resetPubSub(ctx context.Context, host, project string) error {
	c, err := pubsub.NewClient(ctx, project, ClientOptions(host)...)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	parent := "projects/" + project
	subs := c.SubscriptionAdminClient.ListSubscriptions(ctx, &pubsubpb.ListSubscriptionsRequest{Project: parent})
	for {
		s, err := subs.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return err
		}
		err = c.SubscriptionAdminClient.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: s.Name})
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
	}
	snaps := c.SubscriptionAdminClient.ListSnapshots(ctx, &pubsubpb.ListSnapshotsRequest{Project: parent})
	for {
		s, err := snaps.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return err
		}
		err = c.SubscriptionAdminClient.DeleteSnapshot(ctx, &pubsubpb.DeleteSnapshotRequest{Snapshot: s.Name})
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
	}
	topics := c.TopicAdminClient.ListTopics(ctx, &pubsubpb.ListTopicsRequest{Project: parent})
	for {
		tp, err := topics.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return err
		}
		err = c.TopicAdminClient.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: tp.Name})
		if err != nil && status.Code(err) != codes.NotFound {
			return err
		}
	}
	return nil
}

// ClientOptions reach an emulator, or a proxy in front of one, at host ("127.0.0.1:port") with the
// official Go clients: plaintext gRPC, no credentials (so nothing probes a metadata server), no
// telemetry. The Firestore emulator then treats calls as unauthenticated, which it allows while no
// security rules are loaded (none are). Given these options, the Pub/Sub client ignores
// PUBSUB_EMULATOR_HOST, but firestore.NewClient* still prefers FIRESTORE_EMULATOR_HOST when it is
// set: leave that unset in tests that route Firestore through a proxy.
func ClientOptions(host string) []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(host),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		option.WithTelemetryDisabled(),
	}
}

// ClientOptions reach this emulator directly; see the package-level ClientOptions.
func (e *Emulator) ClientOptions() []option.ClientOption { return ClientOptions(e.Host) }
