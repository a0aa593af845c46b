// Package handler makes an event handler idempotent and order-tolerant on
// at-least-once, out-of-order delivery, using the dedup store that the
// threefactor_eventhandler Terraform resource provisions and the variables it
// injects into the function's environment:
//
//	THREEFACTOR_HANDLER      the handler's name; prefixes every dedup key
//	THREEFACTOR_CLOUD        aws, gcp or azure
//	THREEFACTOR_DEDUP_STORE  where the dedup records live, e.g. dynamodb://<table>?region=<region>
//	THREEFACTOR_DEDUP_TTL_S  how long a record counts, in seconds
//	THREEFACTOR_TIMEOUT_S    the function timeout, in seconds: a claim lapses after it
//
// # What a delivery does
//
// Every event has an identity: its CloudEvents source and id when the
// producer set them, else the platform's message id (see Event). A delivery
// claims that identity with one conditional write. A completed identity is
// acknowledged and skipped (its stored result is returned); one held by a
// live claim of another delivery fails the message so it is retried later; a
// claim lapses at the invocation's deadline, so a crashed attempt does not
// block its event; a failing handler releases its claim so the retry can run.
// Records count for THREEFACTOR_DEDUP_TTL_S and expiry is checked when a
// record is read, because stores delete expired records late (DynamoDB
// typically within a few days, with no bound). The same identity with a
// different payload is reported (PayloadMismatch), never silently skipped.
//
// # Two modes, two guarantees
//
// ClaimComplete (two writes: claim, then completion) runs any handler. An
// effect runs once per event, except in one window: a crash after the effect
// and before the completion write runs the effect again on redelivery.
//
// Transactional writes the dedup record and the handler's state write in one
// transaction (DynamoDB TransactWriteItems): one write and no window, so a
// state write is applied at most once per event. The handler may run more
// than once per event, so its only effect must be the StateWrite it returns.
//
// # Out-of-order events
//
// A StateWrite is last-writer-wins state kept on the entity's own record in
// the user's state table (not the dedup table, whose records expire): it is
// a conditional write on the entity's version, and an event older than the
// stored version is acknowledged as Stale and dropped. The version comes
// from the CloudEvents sequence attribute or Options.Version; standard queues
// provide none. The write is store-neutral (table, key, version, attributes),
// so handler code runs unchanged against memstore in unit tests.
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
// # Example: an AWS Lambda SQS handler
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
//			StateTable: "orders", // the user's table: hash key id (S)
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		lambda.Start(awssqs.Handler(p, handle))
//	}
//
// In unit tests, use memstore.New() (or THREEFACTOR_DEDUP_STORE=mem://) and a
// controllable Options.Now. The examples/handler-go directory of the provider
// repository holds this program with its tests.
package handler
