package spec

// Component names derive from the handler name and a suffix after "--". Handler names cannot contain
// "--" (Validate rejects it), so a name splits at its first "--" into handler and suffix and no two
// handlers' components can collide: a handler "orders-dlq" owns "orders-dlq--queue", never "orders--dlq".
const (
	suffixQueue      = "--queue"
	suffixDeadLetter = "--dlq"
	suffixTopic      = "--topic"
	suffixDedup      = "--dedup"
)

// Names are the cloud names of a handler's components.
type Names struct {
	// Function is the handler name itself, as users see it in their console.
	Function   string
	Queue      string
	DeadLetter string
	Topic      string
	DedupTable string
	// Identity carries the region where identities are account-wide (an AWS role name).
	Identity string
}

// NamesOf returns the component names of handler name in region (which may be empty where the
// cloud's identities are regional).
func NamesOf(name, region string) Names {
	identity := name
	if region != "" {
		identity = name + "--" + region
	}
	return Names{
		Function:   name,
		Queue:      name + suffixQueue,
		DeadLetter: name + suffixDeadLetter,
		Topic:      name + suffixTopic,
		DedupTable: name + suffixDedup,
		Identity:   identity,
	}
}
