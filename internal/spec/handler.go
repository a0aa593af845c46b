// Package spec is the cloud-neutral description of one event handler: what the user declares once,
// with its defaults, its limits per cloud and the names of the components derived from it.
// Drivers realise a Handler on one cloud; the provider only translates between it and Terraform.
package spec

// Cloud names the platform a handler runs on ("aws"); each cloud's driver package declares its own.
type Cloud string

// TriggerKind says what the handler consumes.
type TriggerKind string

const (
	// Queue: the handler consumes a queue (one consumer per message).
	Queue TriggerKind = "queue"
	// Topic: the handler's own queue is subscribed to a fan-out topic.
	Topic TriggerKind = "topic"
)

// Handler is one event handler: a function, the trigger it consumes, a dead-letter queue and a dedup table.
type Handler struct {
	Name       string
	Cloud      Cloud
	Function   Function
	Trigger    Trigger
	Retry      Retry
	DeadLetter DeadLetter
	Dedup      Dedup
	// Tags are applied to every taggable component: the user's tags merged over the provider's defaults.
	// The reserved handler tag (Rules.Tags.HandlerKey) is added by drivers, never stored here.
	Tags map[string]string
}

// Function is the code and its runtime settings.
type Function struct {
	Runtime    string
	EntryPoint string
	// SourceDir or SourceZip locates the code (exactly one); SourceHash is the hex sha256 of the
	// deterministic zip built from it (see package pack), which is what drivers compare.
	SourceDir  string
	SourceZip  string
	SourceHash string
	MemoryMB   int64
	TimeoutS   int64
	// Architecture and LogRetentionDays are zero on clouds that lack them (Rules.Unsupported).
	Architecture      string
	Environment       map[string]string
	SecretEnvironment map[string]string
	// MaxConcurrency caps concurrent invocations from the trigger; 0 means unset.
	MaxConcurrency   int64
	LogRetentionDays int64
	// Tables are the app's tables the function reads or writes, by the name it finds each under.
	Tables map[string]TableGrant
}

// Trigger is the subscription that feeds the function.
type Trigger struct {
	Kind TriggerKind
	// Source is the cloud id of an existing queue or topic to consume; empty means the driver creates one.
	Source             string
	BatchSize          int64
	BatchWindowS       int64
	VisibilityTimeoutS int64
	// Filter selects the messages of a topic trigger by their attributes (see FilterRules); nil takes all.
	Filter map[string][]string
	// Paused stops delivery to the function (trigger.enabled = false): events stay in the trigger
	// until it is resumed.
	Paused bool
}

// Retry is the delivery budget before an event is dead-lettered.
type Retry struct {
	MaxAttempts int64
	// MinBackoffS is the least wait before a failed delivery is retried, on clouds with a retry
	// policy of their own (zero elsewhere: a queue redelivers after its visibility timeout).
	MinBackoffS int64
}

// DeadLetter is the queue that receives events whose retry budget is spent.
type DeadLetter struct {
	RetentionDays int64
}

// Dedup is the table handlers use to drop duplicate deliveries.
type Dedup struct {
	TTLS int64
}

// Env returns the variables every driver injects beside the user's, given the driver's dedup store URL
// and the store URL of each granted table (by its grant's name). Reads strip them again so they never
// show as drift.
func (h *Handler) Env(dedupStore string, tables map[string]string) map[string]string {
	env := map[string]string{
		EnvHandler:    h.Name,
		EnvCloud:      string(h.Cloud),
		EnvDedupStore: dedupStore,
		EnvDedupTTL:   itoa(h.Dedup.TTLS),
		EnvTimeout:    itoa(h.Function.TimeoutS),
	}
	for name, url := range tables {
		env[TableEnv(name)] = url
	}
	return env
}

// The injected environment; handlers read these through the runtime library.
const (
	EnvPrefix     = "THREEFACTOR_"
	EnvHandler    = "THREEFACTOR_HANDLER"
	EnvCloud      = "THREEFACTOR_CLOUD"
	EnvDedupStore = "THREEFACTOR_DEDUP_STORE"
	EnvDedupTTL   = "THREEFACTOR_DEDUP_TTL_S"
	EnvTimeout    = "THREEFACTOR_TIMEOUT_S"
)
