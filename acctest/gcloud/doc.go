// Package gcloud runs Google's official Pub/Sub and Firestore emulators (from google-cloud-cli) on
// loopback for tests, the Google counterpart of package moto.
//
// # Use
//
// PubSub(t) and Firestore(t) return the test binary's emulator of that kind, started on first use on
// a free 127.0.0.1 port and shared by the binary's tests; without google-cloud-cli they skip, or fail
// under CI=true. A test takes a project of its own with e.Project(t): the emulators create projects on
// first use, so tests never see each other's resources and may run in parallel, and the project is
// emptied when the test ends. Reach an emulator with the official clients and ClientOptions (or,
// for code that reads the environment, e.Env()):
//
//	e := gcloud.PubSub(t)
//	c, err := pubsub.NewClient(ctx, e.Project(t), e.ClientOptions()...)
//
// A TestMain that calls StopShared after m.Run stops the emulators cleanly. Each emulator runs in a
// process group of its own with Pdeathsig, so it dies with the test binary even on a panic, a
// -timeout or a SIGKILL. A fault-injecting, counting proxy for them is package grpcproxy.
//
// Start is for a private emulator (one a test restarts or kills); Reset empties one project: for
// Pub/Sub it deletes the project's subscriptions, snapshots and topics through the admin API (tens of
// milliseconds, against a second or more for a restart); for Firestore it calls the emulator's
// DELETE /emulator/v1/projects/{p}/databases/{db}/documents, one database at a time.
//
// # Start-up and memory (2 shared cores)
//
// The JVM is run directly with the arguments gcloud gives it (see Start for why), with flags that
// suit small test loads: serial GC, C1 only, at most 512 MiB of heap. Measured here (TestStartup
// logs them, and `go test -v` prints each emulator's RSS and CPU time after the tests):
//
//	           answers after            CPU to start  RSS at start  after this package's tests
//	Pub/Sub    0.75-1.1 s (1.7 s cold)  0.7 s         122 MiB       170 MiB, 1.7 s CPU
//	Firestore  0.95-1.2 s (2-3.7 s cold) 1.05 s        151 MiB       200 MiB, 2.6 s CPU
//
// With the JVM's default flags they start no faster, hold 15-40 MiB less at first, and use 1.5
// times the CPU to start and up to 1.8 times across the tests, which matters more on two shared
// cores. `gcloud beta emulators pubsub start` adds about a second and a resident Python of 60 MiB.
//
// # Pub/Sub emulator (cloud-pubsub-emulator 0.8.20): what it does and does not do
//
//   - Push delivery is real: one message per HTTP POST to push_endpoint (http or https; other schemes
//     are InvalidArgument "Unsupported push_endpoint"). Only 200, 201 and 204 ack; 202 nacks (the
//     real service acks 102, 200, 201, 202 and 204), as does any other 2xx, 3xx, 4xx or 5xx
//     (TestPushStatusCodes). The ack deadline is the push request's timeout: a request still
//     unanswered after it is redelivered while the first is still open (the emulator never closes
//     it, and a late 2xx does not ack); in a probe the subscription's other deliveries paused about
//     5 s at that moment. The body carries message fields twice, camelCase and snake_case (messageId
//     and message_id, publishTime and publish_time), and no deliveryAttempt even with a dead-letter
//     policy (the real service sends it): a push adapter must not rely on it. No Authorization
//     header: an oidc_token config is accepted and ignored. User-Agent is Java's.
//   - Retries and dead-lettering are real, but the timing is the emulator's own. With a retry policy
//     whose backoff is anything up to about 1 s (0 included) the attempts come at +0.1 s, +1 s, then
//     every 3 s: 5 failed deliveries take about 10 s and the dead letter is published about 3 s
//     after the 5th attempt (about 13 s after publishing). A minimum backoff of 5 s gives gaps of 7 s.
//     Without a retry policy it retries every second (dead letter after about 5 s). DeadLetterAfter
//     computes the time; a dead-letter acceptance test should wait about twice as long
//     (TestPushDeadLetter measures it).
//   - On pull (what the local runner does with a paused subscription): ReceivedMessage carries
//     delivery_attempt when the subscription has a dead-letter policy; a nack (ack deadline 0) is
//     redelivered after the retry policy's backoff, on the emulator's own timing (with a minimum
//     backoff of 0 or 1 s the 2nd to 5th deliveries came about 0.1, 2, 4 and 7 s after the first),
//     and without a retry policy after about a second, not at once. A message nacked at its last
//     attempt is published to the dead-letter topic only while the subscription is pulled, about
//     3 s later: a subscription nobody pulls keeps it unforwarded (TestRunnerGCP_poisonAndReplay).
//     A dead letter has a message id of its own.
//   - Dead letters carry CloudPubSubDeadLetterSourceDeliveryCount, ...SourceSubscription (the short
//     id), ...SourceSubscriptionProject and ...SourceTopicPublishTime attributes, as the real service
//     does. No IAM is checked: the Pub/Sub service agent needs no grants here, so a missing grant only
//     shows on real Google Cloud.
//   - Enforced: names (3-255 characters, starting with a letter, no "goog" prefix; InvalidArgument),
//     max_delivery_attempts 5-100 (OutOfRange, not InvalidArgument), a dead-letter topic that exists
//     (NotFound), the subscription's topic exists (NotFound), minimum_backoff 0-600 s, ack deadline at
//     most 600 s, subscription message retention at most 7 days (InvalidArgument; the real limit is
//     31 days), AlreadyExists and NotFound as the real API answers.
//   - Not enforced: an ack deadline under 10 s (5 is accepted), label keys and values, a topic's
//     retention (31 days accepted). An expiration policy with no ttl (never expires) is accepted and
//     read back as an empty expiration_policy.
//   - Updates: UpdateSubscription changes ack_deadline_seconds, retry_policy, dead_letter_policy
//     (an empty one under its mask removes it), push_config and message_retention_duration, and
//     ModifyPushConfig works; but "labels" in an update mask is InvalidArgument ("not a known
//     Subscription field", UpdateTopic likewise) and so is expiration_policy ("currently unsupported
//     in the Pub/Sub Emulator"). Labels set at create are kept. A provider that updates labels in
//     place needs the real API or a fake to test it (TestPubSubUpdate).
//   - A subscription outlives its topic; its topic then reads "_deleted-topic_", as on the real API.
//   - Subscription filters are stored and read back, and any string is accepted (AND and OR mixed
//     without parentheses too, which the real service refuses), but no message is filtered: every
//     subscription gets every message. UpdateSubscription of "filter" is InvalidArgument ("currently
//     unsupported"); the real service refuses it too, a filter being immutable. gcptest's Pull
//     applies filters as Pub/Sub does.
//   - A topic's message_retention_duration is kept and updated in place; a subscription created on a
//     topic that retains messages receives those published before it existed (the real service starts
//     it empty: they are reached by seeking).
//   - IAM methods (GetIamPolicy, SetIamPolicy, TestIamPermissions) answer Unimplemented: route them
//     to a fake (grpcproxy routes by method prefix).
//   - Projects are not validated and need no creation; snapshots work.
//
// # Firestore emulator: what it does and does not do
//
//   - The data plane works as the store needs it: a conditional create (DocumentRef.Create, or
//     Transaction.Create) of an existing document is AlreadyExists, transactions serialize concurrent
//     read-modify-writes (none lost; a failing write fails the whole commit), Timestamps round-trip
//     at microsecond precision.
//   - Named databases (projects/p/databases/dedup-xyz) work with firestore.NewClientWithDatabase and
//     need no creation, unlike the real service where the admin API's CreateDatabase must make them
//     first. Each database is separate, and so is its reset.
//   - Calls without credentials are allowed (no security rules are loaded). firestore.NewClient*
//     prefers FIRESTORE_EMULATOR_HOST over the endpoint option when it is set (and then sends
//     "Bearer owner"): leave it unset where a test routes Firestore through a proxy.
//   - Its admin API (FirestoreAdmin: databases, fields and TTL policies, indexes) is not served: every
//     method answers Unimplemented "Method not found". TTL policies live in a fake: route
//     "/google.firestore.admin.v1.FirestoreAdmin/" to it with grpcproxy. Nothing expires documents:
//     the runtime checks expires_at itself.
//   - It also opens a WebSocket server on another free loopback port (for the Firebase UI); it is
//     unused here.
//   - A warning on start says Java 17 support ends after google-cloud-cli 528.0.0: a later
//     google-cloud-cli needs Java 21.
package gcloud
