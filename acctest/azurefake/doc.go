// Package azurefake fakes what an Azure driver calls in Azure Resource Manager, for tests and for
// users' CI: Flex Consumption plans and function apps (Microsoft.Web) with their app settings,
// publishing policies and SCM publish endpoint, storage accounts and blob containers
// (Microsoft.Storage), Service Bus namespaces, queues, topics, subscriptions and rules
// (Microsoft.ServiceBus), serverless Cosmos DB accounts, SQL databases, containers and SQL role
// assignments (Microsoft.DocumentDB), user-assigned identities (Microsoft.ManagedIdentity), role
// assignments (Microsoft.Authorization), Log Analytics workspaces (Microsoft.OperationalInsights)
// and Application Insights components (Microsoft.Insights), resource groups and provider
// registration (Microsoft.Resources), a Microsoft identity platform token endpoint, and Service
// Bus's HTTP data plane (sbdata.go).
//
// It answers in ARM's REST shapes at the api-versions of the pinned SDK modules (Microsoft.Web
// 2023-12-01 for armappservice/v4 v4.0.0, Microsoft.Storage 2024-01-01 for armstorage v1.8.1,
// Microsoft.ServiceBus 2021-11-01 for armservicebus v1.2.0, Microsoft.DocumentDB 2024-05-15 for
// armcosmos/v3 v3.0.0, Microsoft.ManagedIdentity 2024-11-30 for armmsi v1.3.0,
// Microsoft.Authorization 2022-04-01 for armauthorization/v2 v2.2.0, Microsoft.OperationalInsights
// 2022-10-01 and Microsoft.Insights 2020-02-02, which the driver calls through azcore; another
// api-version answers
// 400 InvalidApiVersionParameter), so the official arm* clients work against it unchanged. It is
// not built on the SDK's arm*/fake servers: those pick their handler from a context value only the
// calling client sets and answer long-running operations with a private protocol.
//
// # Transport and authentication
//
// One HTTPS listener on 127.0.0.1 serves everything, with a certificate from a test CA generated
// at start: CAFile is its PEM (for SSL_CERT_FILE in another process), CertPool and HTTPClient serve
// clients in the same process (HTTPClient also dials the fake for <site>.scm.<suffix> and
// <namespace>.servicebus.windows.net, which no resolver knows; another process reaches those hosts
// with HTTPS_PROXY set to URL, as the fake answers CONNECT by tunnelling to itself). Only HTTP/1.1 is served.
//
// URL is both the Resource Manager endpoint and the authority host (Cloud, ClientOptions). The
// token endpoint POST /<tenant>/oauth2/v2.0/token answers client-credentials requests with a token
// signed by the fake, valid an hour (and across Reset); Options.ClientID and ClientSecret, when
// set, are the only client accepted (401 invalid_client). /<tenant>/v2.0/.well-known/openid-configuration
// is served, and /common/discovery/instance too, but MSAL sends instance discovery for an
// authority host it does not know to login.microsoftonline.com, so clients set
// azidentity's DisableInstanceDiscovery (Credential does). StaticCredential and Token skip the
// token endpoint. Every ARM and SCM request needs a bearer token of the fake: 401
// AuthenticationFailed without one, InvalidAuthenticationToken with another.
//
// # Semantics
//
// State lives in memory per resource id, compared without case as ARM does. GET of a missing
// resource answers 404 ResourceNotFound ("The Resource '<ns>/<type>/<name>' under resource group
// '<rg>' was not found..."); a child of a missing parent 404 ParentResourceNotFound; DELETE of a
// missing resource 204. An unknown subscription answers 404 SubscriptionNotFound, a resource group
// other than Options.ResourceGroups 404 ResourceGroupNotFound. Deleting a resource deletes its
// children and the role assignments scoped to it; role assignments of a deleted identity stay, as
// in Azure. GET of a collection lists in one page (no nextLink): a parent's children of a type, a
// resource group's or a subscription's resources of a type, and role assignments at or below a
// scope, with $filter=principalId eq '<id>' honoured (armauthorization sends $filter as given, so
// callers encode it: a raw space breaks the request line).
//
// Long-running PUTs and DELETEs answer with the status the SDK's client expects (sites, plans,
// storage accounts, SQL databases, containers and role assignments 202 with no body; namespaces 201
// on create, 200 on update; Cosmos accounts 200; the body, when there is one, says
// provisioningState Creating or Updating), an Azure-AsyncOperation header
// (.../providers/<ns>/locations/<loc>/operationStatuses/<id>), a Location header
// (.../operationResults/<id>: 202 while running, then the resource, or 204 for a delete) and
// Retry-After (Options.RetryAfter; 0 by default, so the SDK waits its PollUntilDoneOptions.Frequency;
// a positive value also sends retry-after-ms, which azcore prefers). The status reads InProgress at
// least once and until Options.OperationDelay has passed, then Succeeded or Failed with the error.
// Until then the resource reads provisioningState Creating, Updating or Deleting; a failed create
// leaves it Failed (it must still be deleted), a failed delete leaves it Succeeded. An operation
// nobody polls completes a second after OperationDelay. Synchronous operations (everything else)
// take effect at once. PATCH (plans, sites, storage accounts, namespaces, Cosmos accounts,
// identities) merges into the resource, is checked as a PUT would be, and answers 200 at once.
//
// # Rules enforced (400 unless said otherwise; codes as ARM's where known)
//
// Everywhere: tracked resources (plans, sites, storage accounts, namespaces, Cosmos accounts,
// identities) need a location (LocationRequired) and at most 50 tags, names 1-512 characters
// without <>%&\?/, values at most 256. A provider in Options.UnregisteredProviders answers 409
// MissingSubscriptionRegistration ("The subscription is not registered to use namespace
// '<ns>'...") to every request until POST /subscriptions/<s>/providers/<ns>/register, which
// Options.RegistrationForbidden answers 403 AuthorizationFailed (the SDK's registration policy
// registers on its own unless arm.ClientOptions.DisableRPRegistration).
//
// Microsoft.Web/serverfarms: names 1-60 letters, digits or hyphens; sku FC1 (tier FlexConsumption)
// only (InvalidSku); properties.reserved true (Linux); kind functionapp or linux. Deleting a plan
// with a site on it: 409 Conflict.
//
// Microsoft.Web/sites:
//   - names 2-60 letters, digits or hyphens, not starting or ending with a hyphen, globally unique
//     (409 Conflict "Website with given name ... already exists"); kind containing functionapp and
//     linux (InvalidParameter);
//   - properties.serverFarmId an existing plan (404 NotFound otherwise), not changed by an update;
//   - identity.userAssignedIdentities existing identities, with type UserAssigned; read back with
//     their principalId and clientId;
//   - properties.functionAppConfig required: deployment.storage type blobContainer, value
//     https://<account>.blob.core.windows.net/<container> of an existing container, authentication
//     UserAssignedIdentity (userAssignedIdentityResourceId one of the site's identities),
//     SystemAssignedIdentity (needs a system-assigned identity) or StorageAccountConnectionString
//     (needs storageAccountConnectionStringName); runtime node 20/22, python 3.10-3.12,
//     dotnet-isolated 8.0/9.0, java 11/17/21, powershell 7.4 or custom 1.0;
//     scaleAndConcurrency.instanceMemoryMB 512, 2048 or 4096 (default 2048) and
//     maximumInstanceCount 1-1000 (default 100);
//   - app settings (siteConfig.appSettings at create, PUT config/appsettings, which replaces them,
//     POST config/appsettings/list): names of letters, digits, _ . : -, string values, and none of
//     the settings Flex Consumption sets itself (FUNCTIONS_WORKER_RUNTIME,
//     FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE, WEBSITE_CONTENTSHARE,
//     WEBSITE_CONTENTAZUREFILECONNECTIONSTRING, WEBSITE_NODE_DEFAULT_VERSION,
//     FUNCTIONS_MAX_HTTP_CONCURRENCY, WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT,
//     SCALE_CONTROLLER_LOGGING_ENABLED);
//   - basicPublishingCredentialsPolicies/ftp and /scm: allow true until PUT with properties.allow;
//   - httpsOnly defaults to false; defaultHostName <name>.<SCMSuffix>, enabledHostNames and
//     hostNameSslStates also name <name>.scm.<SCMSuffix>.
//
// SCM publish, POST https://<site>.scm.<SCMSuffix>/api/publish: a bearer token of the fake (401),
// an existing site (404), Content-Type application/zip (415), a readable non-empty zip (400);
// answers 200 and records the zip (Deployed). Faults match its path /api/publish or Op
// "scm/publish".
//
// Microsoft.Storage/storageAccounts: names 3-24 lowercase letters and digits (AccountNameInvalid),
// globally unique across subscriptions (409 StorageAccountAlreadyTaken; checkNameAvailability
// answers AlreadyExists); sku.name Standard_LRS/GRS/RAGRS/ZRS/GZRS/RAGZRS or Premium_LRS/ZRS; kind
// Storage, StorageV2, BlobStorage, BlockBlobStorage or FileStorage, not changed but Storage to
// StorageV2; minimumTlsVersion TLS1_0-TLS1_3 (default TLS1_0, as the API documents);
// allowSharedKeyAccess (default true), supportsHttpsTrafficOnly (default true) and
// allowBlobPublicAccess (default false) booleans. PATCH merges. Containers
// (blobServices/default/containers): names 3-63 lowercase letters, digits and single hyphens,
// starting and ending with a letter or digit (ContainerOperationFailure); public access only when
// the account allows it (409 PublicAccessNotPermitted).
//
// Microsoft.ServiceBus:
//   - namespaces: names 6-50 letters, digits and hyphens, starting with a letter, ending
//     with a letter or digit, not ending in -sb or -mgmt, globally unique (409 Conflict); sku
//     Basic, Standard or Premium (tier, if given, the same; Premium stays Premium);
//     minimumTlsVersion 1.0, 1.1 or 1.2 (default 1.2); disableLocalAuth (default false);
//   - queues and topics: names 1-260 letters, digits, . - _ /, starting and ending with a letter
//     or digit; a queue and a topic cannot share a name (409 MessagingEntityAlreadyExists); topics
//     not on Basic;
//   - queues and subscriptions (names 1-50, no /): lockDuration an ISO 8601 duration PT5S-PT5M
//     (default PT1M); maxDeliveryCount 1-2000 (default 10); forwardDeadLetteredMessagesTo and
//     forwardTo an existing queue or topic of the same namespace, not the queue itself;
//     deadLetteringOnMessageExpiration (default false);
//   - defaultMessageTimeToLive an ISO 8601 duration of at least PT1S (default
//     P10675199DT2H48M5.4775807S); autoDeleteOnIdle at least PT5M;
//   - a subscription starts with the rule $Default (SqlFilter 1=1), which can be deleted and
//     written back; rules: filterType SqlFilter with a non-blank sqlExpression of at most 1024
//     characters that the fake can evaluate (see Messages below; Service Bus takes more of SQL), or
//     CorrelationFilter with at least one property to match;
//   - queues and subscriptions report messageCount and countDetails (see Messages).
//
// Microsoft.DocumentDB:
//   - databaseAccounts: names 3-44 lowercase letters, digits and hyphens, starting and
//     ending with a letter or digit, globally unique (409 Conflict); databaseAccountOfferType
//     Standard; kind GlobalDocumentDB; at least one location; EnableServerless accounts in one
//     location only, and the capability cannot be added or removed later; disableLocalAuth
//     (default false);
//   - sqlDatabases and containers: names 1-255 characters without / \ # ? or a trailing space,
//     properties.resource.id equal to the name, no options (throughput) as on a serverless
//     account; containers only on EnableServerless accounts; partitionKey Hash with one path or
//     MultiHash with up to three, each starting with /, never changed; defaultTtl -1 or
//     1-2147483647 (0 refused); containers at most 15 tags; databases and containers report
//     properties.resource._rid (a container's starting with its database's);
//   - databases/<db _rid>/collections/<container _rid>/usages (GET): Storage, Index Size and
//     Document Count, the count of the items PutDocument wrote, filtered by
//     $filter=name.value eq '<name>';
//   - sqlRoleDefinitions: the built-in 00000000-0000-0000-0000-000000000001 (Data Reader) and
//     00000000-0000-0000-0000-000000000002 (Data Contributor), read-only;
//   - sqlRoleAssignments: names GUIDs; roleDefinitionId one of the account's built-in
//     definitions; scope the account id or below it (/dbs/<db>[/colls/<container>]); principalId
//     a GUID (not looked up: Cosmos data-plane RBAC is not Azure RBAC).
//
// Microsoft.OperationalInsights/workspaces: names 4-63 letters, digits and hyphens, starting and
// ending with a letter or digit (InvalidWorkspaceName); properties.sku.name PerGB2018 (the default)
// or CapacityReservation with capacityReservationLevel 100-500, 1000, 2000 or 5000, the legacy tiers
// refused (InvalidParameter); retentionInDays 30-730 (default 30; InvalidParameter);
// features.disableLocalAuth (default false); customerId set at creation. PUT and DELETE are
// long-running (200 with provisioningState Creating, then 202). A DELETE without force=true is a
// soft delete, as in Azure: GET answers 404 but the workspace keeps its name and data (Leftovers
// lists it "(soft-deleted)") and a PUT of the same id recovers it with its customerId; with
// force=true it is gone.
//
// Microsoft.Insights/components: names 1-260 characters without %&\?/ or control characters, not
// ending with a space or a period; kind required; properties.Application_Type web or other;
// properties.WorkspaceResourceId an existing workspace (classic components are retired; Azure would
// attach one without a workspace to a default workspace in a resource group of its own, which the
// fake refuses); IngestionMode LogAnalytics (the default); DisableLocalAuth (default false);
// RetentionInDays 30, 60, 90 (default), 120, 180, 270, 365, 550 or 730. InstrumentationKey, AppId and
// ConnectionString (InstrumentationKey=...;IngestionEndpoint=https://<location>-0.in.applicationinsights.azure.com/;...)
// are set at creation and kept by updates. PUT, PATCH (tags) and DELETE are synchronous. Deleting a
// workspace leaves its components.
//
// Microsoft.ManagedIdentity/userAssignedIdentities: names 3-128 letters, digits, - or _, starting
// with a letter or digit; principalId, clientId (new GUIDs) and tenantId (Options.Tenant) are set
// at creation and kept by updates.
//
// Microsoft.Authorization/roleAssignments, at any scope under a served subscription: names GUIDs
// (InvalidRoleAssignmentId); the scope must exist when it is a subscription, resource group or a
// resource of a type the fake serves (404); roleDefinitionId .../providers/Microsoft.Authorization/roleDefinitions/<guid>
// of BuiltinRoles or Options.RoleDefinitions (RoleDefinitionDoesNotExist); principalType User,
// Group, ServicePrincipal, ForeignGroup or Device (default User); the principal must be an
// identity, a site's system-assigned identity or one of Options.Principals (PrincipalNotFound),
// and an identity younger than Options.PrincipalPropagation is not found either unless
// principalType is ServicePrincipal, as ARM answers while a new principal replicates; the same
// principal, role and scope under another name: 409 RoleAssignmentExists; changing the principal
// or role of an assignment: 409 RoleAssignmentUpdateNotPermitted.
//
// # Messages and items
//
// Service Bus's HTTP data plane is served at https://<namespace>.servicebus.windows.net
// (ServiceBusSuffix), with a bearer token of the fake (401 otherwise), on queues, topics,
// <topic>/subscriptions/<name> and each queue's or subscription's /$DeadLetterQueue:
//   - POST <queue or topic>/messages sends (201): the body, Content-Type, BrokerProperties'
//     MessageId (a new one when unset) and TimeToLive, and every other header as an application
//     property (its value JSON, a string quoted, as the HTTP API carries them; Go's server gives
//     header names canonical case, so rules and readers match names without case). A topic gives a
//     copy to each subscription whose rules match; SendDisabled or Disabled answers 403;
//   - POST <entity>/messages/head?timeout=N peek-locks the first available message for the
//     entity's lockDuration (201 with the body, BrokerProperties MessageId, LockToken,
//     SequenceNumber, DeliveryCount (1 on the first delivery), LockedUntilUtc and DeadLetterSource,
//     a Location, and the properties as headers), waiting up to N seconds (60 by default) for one
//     (204); DELETE .../messages/head receives and deletes; ReceiveDisabled or Disabled answers 403,
//     a missing entity 410;
//   - DELETE <entity>/messages/<id>/<lock> completes, PUT abandons (200); a lock that expired or is
//     not the message's answers 404 and settles nothing. An expired lock is an abandon. An abandoned
//     message whose DeliveryCount reached maxDeliveryCount is dead-lettered (DeadLetterReason
//     MaxDeliveryCountExceeded): into the entity forwardDeadLetteredMessagesTo names (a new message
//     there, DeliveryCount 0) or the entity's $DeadLetterQueue;
//   - a message expires at the earlier of its TimeToLive and the entity's defaultMessageTimeToLive
//     after it was enqueued: dropped, or dead-lettered (TTLExpiredException) with
//     deadLetteringOnMessageExpiration;
//   - GET <entity> answers its ATOM description with MessageCount, Status and CountDetails
//     (ActiveMessageCount, locked messages included, and DeadLetterMessageCount).
//
// Faults match the operations "servicebus/send", "servicebus/peekLock",
// "servicebus/receiveAndDelete", "servicebus/complete", "servicebus/abandon" and
// "servicebus/describe".
//
// Publish sends a message with application properties (and no body) to a topic, as the data plane
// does; the copies wait in the subscriptions, counted in messageCount and countDetails. Rules are evaluated on
// =, <>, !=, [NOT] IN, IS [NOT] NULL, EXISTS, AND, OR, NOT and parentheses over 'strings', numbers
// and application properties (bare, [delimited] or user.); a rule using more of Service Bus's SQL is
// refused with 400, saying so. PutDocument writes an item into a container, as a handler would;
// the container's Document Count usage counts them, and they go with it.
//
// # Tests
//
// Fault injection: Fail answers an error to the next matching request; LoseResponse lets it take
// effect and closes the connection instead of answering (the SDK retries); FailOperation lets a
// long-running request start and makes its operation fail; AddFault does any of these with a
// method, a path pattern, an operation name and a count. Calls counts requests per operation
// ("Microsoft.Web/sites/write", "Microsoft.ServiceBus/locations/operationStatuses/read") for
// exact refresh costs; Requests lists them in order. Leftovers lists every resource that exists,
// for "destroy leaves nothing" checks; Resource reads one as GET answers it, Deployed the zip last
// published to a site. Reset forgets everything but issued tokens stay valid.
// Require starts a Server for a test; Serve runs one as a process (`threefactor fake azure`).
package azurefake
