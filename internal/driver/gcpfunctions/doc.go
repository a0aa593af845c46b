// Package gcpfunctions realises a spec.Handler on Google Cloud: a service account, a Cloud Run
// function (Cloud Functions v2 API) fed by its own Pub/Sub push subscription, a Pub/Sub
// dead-letter topic with a pull subscription that keeps what reaches it, and a Firestore database
// of the handler's own as its dedup table (a collection with a TTL policy), which the account may
// use under a conditional grant.
//
// The trigger is a push subscription of the provider's, not the function's Eventarc trigger: an
// Eventarc-managed subscription takes no dead-letter policy (terraform-provider-google#17697) and
// does not retry without a retry policy. It pushes with an OIDC token of the handler's account,
// which holds run.invoker on the function's service; the function takes internal traffic only.
//
// IAM bindings the driver makes (each read back on refresh, so its drift shows):
//   - roles/datastore.user on the project for the handler's account, conditioned on
//     resource.name == its dedup database, and for each function.tables entry
//     roles/datastore.viewer (read) or roles/datastore.user (read_write) conditioned on the table's
//     database, all written in one policy update (component dedup_grant);
//   - roles/run.invoker on the function's Cloud Run service for the handler's account;
//   - roles/pubsub.publisher on the dead-letter topic and roles/pubsub.subscriber on the push
//     subscription for the project's Pub/Sub service agent, without which nothing is dead-lettered.
//
// Policies are shared: each write reads the policy at version 3, changes only the handler's own
// binding and writes it back with its etag, again from a new read when another writer won the race.
//
// An app's shared parts (driver.Parts) are one resource each: a threefactor_topic is a Pub/Sub
// topic with a message retention; a threefactor_table a Firestore database of its own, since
// Firestore grants reach a database and no narrower, whose items are the documents of the
// collection named as the table, with the TTL policies of its items and of the dedup records the
// runtime library keeps beside a table's state in Transactional mode (a transaction spans one
// database). trigger.filter is the push subscription's filter, which cannot change: a new one
// replaces the subscription.
//
// State holds the service account's email, the database, topic, subscription and function names
// under their component names, the dedup grant as "<email> <database>", and the existing topic a
// handler consumes under keyTopicSource.
package gcpfunctions
