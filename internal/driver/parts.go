package driver

import (
	"context"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// The components of an app's shared parts, in errors.
const (
	// AppTopic is a threefactor_topic.
	AppTopic Component = "app_topic"
	// AppTable is a threefactor_table.
	AppTable Component = "app_table"
)

// Part realises one kind of an app's shared parts on one cloud: a topic or a table, a single cloud
// resource that outlives any one handler. S is spec.AppTopic or spec.AppTable. Methods are safe for
// concurrent use and retry what the cloud documents as transient, as a Driver's do.
type Part[S any] interface {
	// Apply creates the part when id is "" and otherwise updates it in place to match desired. It
	// returns the part's id, on error too once the part exists, so that nothing it made is unknown.
	Apply(ctx context.Context, desired *S, id string) (string, error)
	// Read observes the part; nil when it is gone.
	Read(ctx context.Context, id string) (*ObservedPart[S], error)
	// Delete deletes the part, treating "already gone" as success. Unless force is set it refuses, with
	// a *Error of code FailedPrecondition that names them, while the part holds what others depend
	// on: a topic's subscriptions (those of handlers this configuration manages are gone by then), a
	// table's items.
	Delete(ctx context.Context, id string, force bool) error
	// Locate returns the id of the part named name, for import: a *Error of code NotFound when none.
	Locate(ctx context.Context, name string) (string, error)
	// ImportID is the id under which the part named name imports ("<cloud>/<scope...>/<name>").
	ImportID(name string) string
}

// ObservedPart is a part as the cloud has it.
type ObservedPart[S any] struct {
	// Spec holds every setting the cloud reports.
	Spec S
	// Encrypted reports encryption at rest, which Apply turns on where the cloud lets it be off.
	Encrypted bool
	// ID is the cloud id handlers take: a topic's trigger.source, a table's function.tables table_id.
	ID string
	// Target is what producers send to (a topic's publish target); "" for a table.
	Target string
}

// Parts is implemented by the drivers of clouds whose Rules have Topics and Tables.
type Parts interface {
	Topics() Part[spec.AppTopic]
	Tables() Part[spec.AppTable]
}
