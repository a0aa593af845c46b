// Package handler makes an event handler idempotent and order-tolerant on
// at-least-once, out-of-order delivery, using the dedup store that the
// threefactor_eventhandler Terraform resource provisions and the variables it
// injects into the function's environment:
//
//	THREEFACTOR_HANDLER      the handler's name; prefixes every dedup key
//	THREEFACTOR_CLOUD        aws, gcp or azure
//	THREEFACTOR_DEDUP_STORE  where the dedup records live, e.g. dynamodb://<table>?region=<region>,
//	                         firestore://projects/<project>/databases/<database>/documents/dedup
//	                         or cosmos://<account>.documents.azure.com/<database>/<container>
//	THREEFACTOR_DEDUP_TTL_S  how long a record counts, in seconds
//	THREEFACTOR_TIMEOUT_S    the function timeout, in seconds: a claim lapses after it
//	THREEFACTOR_TABLE_<NAME> the store URL of each app table granted through function.tables
//	                         (a threefactor_table): Options.StateTable = "<name>" writes there
//
// # What a delivery does
//
// Every event has an identity: its CloudEvents source and id together when
// the producer set them, else the platform's message id (see Event); never an
// id alone. A message that claims to be a CloudEvent but breaks the spec (no
// source or id, data_base64 that is not base64) is Malformed: it fails alone
// and is never processed.
//
// In ClaimComplete mode a delivery claims that identity with one conditional
// write. A completed identity is acknowledged and skipped (its stored result
// is returned); one held by a live claim of another delivery fails the
// message so it is retried later; a claim lapses at the invocation's
// deadline, so a crashed attempt does not block its event; a failing (or
// panicking) handler releases its claim so the retry can run. A record lives
// at least as long as its claim, whatever the TTL. Records count for
// THREEFACTOR_DEDUP_TTL_S and expiry is checked when a record is read,
// because stores delete expired records late (DynamoDB typically within a
// few days, Firestore typically within 24 hours, Cosmos DB in the
// background, none with a bound). The same identity with a different payload is
// reported (PayloadMismatch), never silently skipped. A store error while
// claiming, writing state, committing or completing fails the message: it is
// never acknowledged as applied.
//
// # Three modes, three guarantees
//
// Choose by what the handler does and which window you can live with.
//
// ClaimComplete runs any handler, with any side effects. Guarantee: the
// handler runs once per event, except in these windows, where it runs again
// on a redelivery:
//   - a crash, a timeout or a completion write that keeps failing (it is
//     retried while the claim holds) after the effect and before the
//     completion: the redelivery runs the effect again (a StateWrite is
//     re-applied harmlessly: same version, same event);
//   - a delivery still running at its claim's deadline: the library writes
//     no state after Options.Margin before the deadline (DefaultMargin, 5 s,
//     at most a quarter of the claim), so its state write cannot overlap a
//     redelivery unless the workers' clocks differ by more than the margin
//     minus the write's duration. Effects the handler makes itself beyond
//     its context's deadline can overlap the redelivery; no claim can fence
//     them;
//   - a redelivery after the TTL: the record is forgotten (the version guard
//     still drops an older state write as Stale).
//
// Transactional writes the dedup record and the handler's state write in one
// transaction (DynamoDB TransactWriteItems, a Firestore transaction, a
// Cosmos DB transactional batch in the entity's partition): the
// transaction is the fence, so
// none of ClaimComplete's windows apply. Guarantee: within the TTL the state
// write takes effect exactly once per event (the queue redelivers until it
// has); after it, a redelivery re-applies the same state at the same version
// or is Stale. The handler runs before the identity is checked and may run
// more than once per event, so its only effect must be the StateWrite it
// returns. Pick it over ClaimComplete when the state write is the effect and
// no window is acceptable.
//
// SingleWrite keeps no dedup record: the state write is one conditional
// write (stored version older than the event's), and a refused write is
// classified from the entity the refusal returns, in the same request (same
// version from the same event: Duplicate; older: Stale; same version from
// another event: Conflict). Guarantee: the entity's state is the one written
// by the newest version, each version written once, with no TTL and no
// window. It holds only when the effect is that one write of the entity's
// whole state (a snapshot) and each event carries a version that grows per
// entity across all producers. It does not hold for:
//   - effects beyond that one write: the handler runs on every delivery, so
//     they repeat (and, with no record, duplicates get no stored Result and
//     no payload check);
//   - deltas (add 10 to a balance): a delta is not a snapshot, and the
//     version cannot tell which deltas the state already holds;
//   - versions that restart: an entity deleted and re-created starts again
//     at a low version, so its new events are Stale, or, if the item was
//     deleted, redeliveries of the old ones are applied again. Keep a
//     tombstone (the item with its last version) instead of deleting it;
//   - several entities per event: an Effect writes one entity, and the
//     version guards each entity alone; an event that must change several
//     atomically needs one transaction over all of them, which no mode
//     offers yet.
//
// Writes per event, on DynamoDB, beside Powertools idempotency (a
// conditional put that claims the key, the user's state write, an update
// that completes it):
//
//	mode            first delivery                  duplicate
//	Powertools      3 writes                        1 write (the refused put)
//	ClaimComplete   3 writes (claim, state, done)   1 write (the refused claim)
//	Transactional   1 transaction of 2 items (*)    1 refused transaction
//	SingleWrite     1 write                         1 write (refused, item returned)
//
// (*) One request; DynamoDB bills each item of a transaction as two writes.
// A refused conditional write is billed as a write.
//
// # Out-of-order events and versions
//
// A StateWrite is state kept on the entity's own item in the user's state
// table (not the dedup table, whose records expire): a conditional
// UpdateItem on the entity's version that sets the state's attributes, the
// version and the writing event's identity (attribute version_event), and
// leaves every other attribute as it is, so tables that other code also
// writes keep their data. An event older than the stored version is
// acknowledged as Stale and dropped; an item without a version (made by
// other code) is older than any event. Two different events with the same
// version: the first one's state stays and the second is a Conflict,
// reported as a failure so that it reaches the dead-letter queue.
//
// Versions are numeric by default (Options.Version; the CloudEvents sequence
// parsed as an integer when nil) or, with Options.Ordering = Lexicographic,
// the sequence attribute as a string compared byte-wise, as the CloudEvents
// spec orders it. Numbers are stored as numbers and strings as strings, so
// existing numeric versions keep working; a stored version of the other type
// is an error (store.ErrVersionType) that fails the event, never Stale.
// Standard queues provide no version: the producer must. The write is
// store-neutral (table, key, version, attributes), so handler code runs
// unchanged against memstore in unit tests.
//
// # Batches
//
// ProcessBatch returns one outcome per message; only failures are reported
// back (awssqs.Handler turns them into batchItemFailures), so a poison
// message reaches the dead-letter queue without replaying its batch. A panic
// in the handler is one more failure of its own message (PanicError holds the
// value and the stack; a claim is released). A panic in a goroutine that the
// handler starts cannot be recovered by the library: it ends the process,
// and the whole batch is redelivered. Recover inside such goroutines.
//
// # Outcome log
//
// With THREEFACTOR_OUTCOME_LOG=stderr (FromEnv) or Options.OutcomeLog, the
// processor writes one JSON line per delivery, an OutcomeLine: the event's
// source and id, the platform's message id, the outcome (applied,
// duplicate, stale, failed, ...), whether it was acknowledged, and the
// error. A batch response tells only failures; this line is how a local
// runner (threefactor run) counts duplicates and stale events, and how a log
// metric filter can on a cloud. The provider does not set the variable.
//
// # On Google Cloud: Pub/Sub push and Firestore
//
// With cloud = "gcp" the provider creates a push subscription that POSTs one
// message per request (batch_size is 1) to the function's URL, and a
// Firestore database of the handler's own whose collection dedup holds the
// records. pubsubpush.Handler is the function: an http.HandlerFunc, so also a
// Functions Framework HTTP function (functions.HTTP("Handle", ...)). It reads
// the push body
//
//	{"message": {"data": "<base64>", "attributes": {...}, "messageId": "...",
//	             "publishTime": "...", "orderingKey": "..."},
//	 "subscription": "projects/<p>/subscriptions/<s>", "deliveryAttempt": N}
//
// takes the event's identity by the same rules as on AWS (CloudEvents ce-*
// attributes in binary mode, a JSON CloudEvent in data in structured mode,
// else Pub/Sub's messageId under source gcp:pubsub), and answers 204 No
// Content for Applied, Duplicate and Stale, which acknowledges the message.
// Every failure gets a status Pub/Sub does not take as an acknowledgement
// (400 Malformed or no push body, 409 PayloadMismatch or Conflict, 429
// InFlight, 500 Failed, 503 DeadlineExceeded), so Pub/Sub redelivers it after
// the subscription's retry backoff and dead-letters it after
// max_delivery_attempts (retry.max_attempts). deliveryAttempt becomes
// Event.ReceiveCount, the ordering key Event.Group.
//
// The store is package firestorestore (import it for its URL scheme):
//
//	THREEFACTOR_DEDUP_STORE=firestore://projects/<project>/databases/<database>/documents/dedup
//
// with Application Default Credentials (the function's service account), or
// the emulator that FIRESTORE_EMULATOR_HOST names. A claim is one conditional
// create; completion, release, the version guard and Transactional's commit
// are Firestore transactions. expires_at is a Timestamp on which the provider
// sets the collection's TTL policy; Firestore deletes expired documents
// typically within 24 hours, with no bound, so expiry is checked when a
// record is read. A state table (StateWrite.Table) is a collection of the
// same database, or the full path of one in another database
// (projects/<p>/databases/(default)/documents/orders, say) in ClaimComplete
// and SingleWrite. A transaction spans one database, so in Transactional mode
// a state table in another database (a threefactor_table, which is a database
// of its own) gets the event's dedup record beside the state, in that
// database's threefactor_dedup collection. An entity's document id is its
// key, and the state is merged into the document, keeping the fields other
// code writes.
//
// # On Azure: Service Bus and Cosmos DB
//
// With cloud = "azure" a Go handler runs as a custom handler on Azure
// Functions (Flex Consumption, runtime "custom"). The Functions host runs
// the trigger that the function's function.json declares and POSTs each
// message (batch_size is 1) to http://127.0.0.1:<FUNCTIONS_CUSTOMHANDLER_PORT>/<function>:
//
//	{"Data": {"message": <body>},
//	 "Metadata": {"MessageId": "...", "DeliveryCount": N, "ApplicationProperties": {...}, ...}}
//
// servicebus.Handler is that endpoint. It takes the event's identity by the
// same rules (CloudEvents cloudEvents:* application properties, as the AMQP
// binding puts them, or a JSON CloudEvent body, else the MessageId under
// source azure:servicebus) and answers 200 with {"Outputs": {}, "Logs": [],
// "ReturnValue": null} for Applied, Duplicate and Stale, which completes the
// message. Every failure answers 500: the invocation fails, the host
// abandons the message, and Service Bus redelivers it until MaxDeliveryCount
// (retry.max_attempts) and then dead-letters it. DeliveryCount becomes
// Event.ReceiveCount, the session id Event.Group. The trigger binds to the
// queue through app settings the provider writes: connection
// "THREEFACTOR_SERVICEBUS" (an identity-based connection) and queueName
// "%THREEFACTOR_QUEUE%" (or topicName "%THREEFACTOR_TOPIC%" and
// subscriptionName "%THREEFACTOR_SUBSCRIPTION%").
//
// The store is package cosmosstore (import it for its URL scheme):
//
//	THREEFACTOR_DEDUP_STORE=cosmos://<account>.documents.azure.com/<database>/<container>
//
// with azidentity's DefaultAzureCredential (the function's user-assigned
// identity, named by AZURE_CLIENT_ID). The provider creates one container
// per handler, partition key /pk, DefaultTTL the dedup TTL. A claim is one
// create (409 when the key is taken); completion, release and the version
// guard are reads followed by writes with If-Match on the ETag read. A
// Cosmos transactional batch covers one partition of one container, so
// Transactional mode keeps the entity's state in the dedup container under
// the entity's partition key, and the event's dedup record under that same
// key: the record and the state are one batch. StateWrite.Table is then a
// name within the container, entity items never expire (ttl -1), and the
// handler must name the same entity for the same event on every delivery.
// Expiry is checked when a record is read, as on the other clouds; Cosmos
// deletes expired items (per-item ttl) in the background.
//
// A binary links only the packages it imports: a Google handler (pubsubpush,
// firestorestore) carries no AWS SDK or Azure SDK, an AWS one (awssqs,
// dynamodbstore) no Google or Azure library, and an Azure one (servicebus,
// cosmosstore) no AWS or Google module, as go version -m shows for the
// examples.
//
// # Example: an AWS Lambda SQS handler, and the same on Google
//
//	package main
//
//	import (
//		"context"
//		"encoding/json"
//		"log"
//
//		"github.com/aws/aws-lambda-go/lambda"
//
//		"github.com/threefactor/terraform-provider-threefactor/handler"
//		"github.com/threefactor/terraform-provider-threefactor/handler/awssqs"
//		_ "github.com/threefactor/terraform-provider-threefactor/handler/dynamodbstore"
//	)
//
//	type order struct {
//		ID     string `json:"id"`
//		Status string `json:"status"`
//	}
//
//	func handle(ctx context.Context, ev handler.Event) (handler.Effect, error) {
//		var o order
//		if err := json.Unmarshal(ev.Data, &o); err != nil {
//			return handler.Effect{}, err // fails this message only; it ends in the dead-letter queue
//		}
//		return handler.Effect{
//			// Written only if no newer version of the order is stored; the
//			// version is the event's CloudEvents sequence.
//			State:  &handler.StateWrite{Key: o.ID, Attributes: map[string]any{"status": o.Status}},
//			Result: []byte(o.Status),
//		}, nil
//	}
//
//	func main() {
//		p, err := handler.FromEnv(context.Background(), handler.Options{
//			Mode:       handler.Transactional,
//			// The threefactor_table granted as function.tables = { orders = ... }
//			// (THREEFACTOR_TABLE_ORDERS), or any table name of the dedup table's region.
//			StateTable: "orders",
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		lambda.Start(awssqs.Handler(p, handle))
//	}
//
// On Google the same handle runs as a Cloud Run function:
//
//	func init() {
//		p, err := handler.FromEnv(context.Background(), handler.Options{
//			Mode:       handler.Transactional,
//			StateTable: "orders", // a collection of the dedup store's database
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		functions.HTTP("HandleOrders", pubsubpush.Handler(p, handle))
//	}
//
// with _ ".../handler/firestorestore" imported instead of dynamodbstore. On
// Azure it is a custom handler's server:
//
//	func main() {
//		p, err := handler.FromEnv(context.Background(), handler.Options{
//			Mode:       handler.Transactional,
//			StateTable: "orders", // a name within the dedup container, unless a grant names it
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		http.Handle("/orders", servicebus.Handler(p, handle)) // the function orders/function.json declares
//		log.Fatal(http.ListenAndServe(servicebus.Addr(), nil))
//	}
//
// with _ ".../handler/cosmosstore" imported.
//
// In unit tests, use memstore.New() (or THREEFACTOR_DEDUP_STORE=mem://) and a
// controllable Options.Now; firestorestore/firestoretest starts the Firestore
// emulator and cosmosstore/cosmostest the Cosmos DB emulator for tests
// against them. The examples/handler-go, examples/handler-go-gcp and
// examples/handler-go-azure directories of the provider repository hold
// these programs with their tests.
package handler
