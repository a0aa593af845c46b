// Package gcpfake fakes the Google Cloud APIs that have no emulator, for tests and for users' CI:
// Cloud Functions v2, IAM admin (service accounts), Cloud Run v2 (service IAM policies), Resource
// Manager v3 (the project and its IAM policy), Firestore Admin (databases and TTL fields), and the
// generic google.iam.v1.IAMPolicy service (for Pub/Sub topic and subscription policies, which the
// Pub/Sub emulator lacks), with google.longrunning.Operations for their long-running operations.
//
// Each fake serves the official generated server interface on one gRPC listener on 127.0.0.1, so
// the official Go clients reach it with the options of Server.ClientOptions (option.WithEndpoint,
// option.WithoutAuthentication and an insecure transport). A second, HTTP, listener serves the
// upload URLs of GenerateUploadUrl and the functions' URIs. One project exists (Options.Project and
// Options.ProjectNumber); it is addressed by id or number. State lives in memory; Reset forgets it.
//
// # Semantics
//
// Long-running operations are done Options.OperationDelay after they start and are polled through
// GetOperation, as the clients' Wait does. Effects show at once where Google's do (a function in
// state DEPLOYING, a database, a TTL field in state CREATING) and complete when the operation is
// done (ACTIVE). NOT_FOUND and ALREADY_EXISTS are answered as the real APIs answer them; in
// particular CreateFunction of an existing function returns an operation that fails with
// ALREADY_EXISTS (as the API documents), while CreateServiceAccount and CreateDatabase refuse at
// once. A project other than the fake's answers PERMISSION_DENIED, as a project the caller cannot
// see does.
//
// # Rules enforced (INVALID_ARGUMENT unless said otherwise)
//
// Service accounts:
//   - account id: 6-30 characters matching ^[a-z]([-a-z0-9]*[a-z0-9])$; display name at most 100
//     characters, description at most 256;
//   - email <id>@<project>.iam.gserviceaccount.com; ALREADY_EXISTS when taken; names may use
//     projects/- and the unique id;
//   - deleting an account rewrites its bindings in every policy to
//     deleted:serviceAccount:<email>?uid=<unique id>, as Google shows them.
//
// Cloud Functions v2:
//   - function id: 4-63 lowercase letters, digits or hyphens, starting with a letter, not ending
//     with a hyphen; parent projects/<p>/locations/<region> with a region such as us-central1;
//   - runtime required and one of Options.Runtimes (DefaultRuntimes: nodejs18-24, python39-313,
//     go121-125, java17/21, ruby32-34, php82-84, dotnet8);
//   - source: build_config.source.storage_source must name an object uploaded through a URL of
//     GenerateUploadUrl; the build (Options.Build, by default a readable non-empty zip) runs when the
//     operation finishes: a failed build fails the operation and leaves a created function in state
//     FAILED, which must still be deleted;
//   - available_memory one of 128Mi 256Mi 512Mi 1Gi 2Gi 4Gi 8Gi 16Gi 32Gi (M and G accepted for Mi
//     and Gi); available_cpu at most 8;
//   - timeout_seconds 0 (default 60) to 3600, or to 540 with an event trigger;
//   - max_instance_count 0-1000 (0 means the default 100); min_instance_count not above it;
//     max_instance_request_concurrency 0-1000, above 1 only with at least 1 vCPU (memory 2Gi or
//     more, or available_cpu);
//   - environment variable names [A-Za-z_][A-Za-z0-9_]*, not PORT, K_SERVICE, K_REVISION,
//     K_CONFIGURATION or X_GOOGLE_*;
//   - labels: at most 64, keys 1-63 lowercase letters, digits, _ or -, starting with a letter,
//     values 0-63 of the same;
//   - service_config.service_account_email of the project must exist;
//   - UpdateFunction takes an update mask (proto or JSON names under description, labels,
//     build_config, service_config, event_trigger, kms_key_name; none means all of them); output
//     fields may not be named. Update or delete while an operation on the function runs: ABORTED.
//
// Upload URLs: PUT only; Content-Type must be application/zip (else 403 SignatureDoesNotMatch, as
// the header is part of the signature); an Authorization header is refused (400), as a signed URL
// refuses a second credential; at most 100 MB.
//
// Deployed functions: state ACTIVE, service_config.uri http://127.0.0.1:<port>/functions/<project>/
// <region>/<id> and service_config.service projects/<p>/locations/<r>/services/<id>. Requests to the
// URI are handed to Options.Invoke (or SetInvoke's; by default 200) and recorded (Invocations).
//
// Firestore admin:
//   - database id: 4-63 lowercase letters, digits or hyphens, starting with a letter, not ending with
//     a hyphen, not UUID-like; or (default); location_id and type required; ALREADY_EXISTS when
//     taken; delete with delete protection enabled: FAILED_PRECONDITION; a stale etag: ABORTED;
//   - UpdateField with an update mask of ttl_config and/or index_config: a TTL policy is CREATING
//     until its operation is done, then ACTIVE; one TTL field per collection group
//     (FAILED_PRECONDITION); none on the default field "*"; at most Options.MaxFieldConfigs field
//     configurations per database (RESOURCE_EXHAUSTED);
//   - ListFields needs the filter ttlConfig:* or indexConfig.usesAncestorConfig:false; the
//     collection group may be "-".
//
// IAM policies (project, service account, Cloud Run service, generic IAMPolicy):
//   - SetIamPolicy with an etag other than the current one: ABORTED; no etag overwrites;
//   - policy versions 0, 1 and 3 only; a binding with a condition needs version 3, and a condition a
//     title (at most 100 characters) and an expression;
//   - GetIamPolicy returns version 1 unless version 3 is requested; read with version 1, each
//     conditional binding's role carries Google's _withcond_<hash> suffix and no condition, and
//     setting such a role back is refused;
//   - roles roles/<name> or projects|organizations/<id>/roles/<name>; members user:, group:,
//     serviceAccount: (with an @), domain:, deleted:, principal:, principalSet:, allUsers,
//     allAuthenticatedUsers; a serviceAccount of the fake's project must exist;
//   - bindings are merged by role and condition, members sorted, empty bindings dropped;
//   - a Cloud Run service's policy exists only for a deployed function (NOT_FOUND otherwise) and is
//     deleted with it.
//
// # Tests
//
// Fault injection: Fail fails the next call of a method with a code; LoseResponse lets it take effect
// and answers UNAVAILABLE; AddFault does both with a match and a count. Calls and Requests count
// calls. Leftovers lists every resource that exists, for "destroy leaves nothing" checks. Serve runs
// the fakes as a standalone process (`threefactor fake gcp`).
package gcpfake
