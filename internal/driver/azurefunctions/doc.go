// Package azurefunctions is the Azure driver: a handler is a user-assigned managed identity, a
// storage account with its deployment container, a Service Bus namespace (the handler's own, the
// provider's shared one, or an adopted source's) holding the handler's queue or a topic and
// subscription and the <name>--dlq queue dead letters are forwarded to, a serverless Cosmos DB
// account (own or shared) with the handler's database and dedup container, a Log Analytics
// workspace with a workspace-based Application Insights component (local auth off on both), four
// role assignments (Service Bus Data Receiver, Storage Blob Data Owner, Monitoring Metrics
// Publisher, a Cosmos DB SQL role assignment), a Flex Consumption plan and a function app whose
// code is published to its SCM endpoint and whose telemetry is sent with the identity's token. See
// the resource docs' "What is created on Azure".
//
// Calls go through the track-2 arm* clients (storage, Service Bus, Cosmos DB, managed identities,
// authorization) and, for Microsoft.Web, Microsoft.Insights and Microsoft.OperationalInsights,
// through azcore's pipeline with hand-written models of the few fields the driver sets (webapi.go,
// insights.go). Every ARM write is an idempotent PUT and role
// assignments have names derived from what they grant, so a create whose response was lost is
// simply retried. Waits on eventual consistency (a new identity's role assignments, 403s from the
// data planes and the SCM endpoint while they propagate) are bounded by propagationTimeout.
//
// The app's shared parts (parts.go): a threefactor_topic is a Service Bus topic in a Standard
// namespace of its own, which its subscribers adopt as their source's namespace; a
// threefactor_table is a Cosmos DB container in the provider's cosmos_account or a serverless
// account of its own. A handler's trigger.filter is its subscription's one SQL rule (filter.go), and
// function.tables are Cosmos DB SQL role assignments on each container, recorded in private state
// (grants.go).
//
// Locate (import) finds an adopted trigger source, in any resource group, and the settings an
// adopted queue had before through the function app's settings, so it finds nothing adopted for a
// handler whose app was never made (an apply killed before it); the next apply adopts the source
// again, taking the settings it then has as the ones to restore.
package azurefunctions
