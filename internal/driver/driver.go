// Package driver is the contract between the provider and each cloud: a Cloud describes one cloud, and
// its Driver realises a spec.Handler as that cloud's components. Each cloud lives in a package of its
// own; every driver passes the conformance suite in drivertest and builds on package plumbing.
package driver

import (
	"context"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Component names one part of a handler. These are the parts most clouds share; a cloud may declare
// others (Component values of its own) and lacks some: its Cloud description lists its set.
type Component string

const (
	// Identity is what the function runs as (an AWS role, a Google service account, an Azure identity).
	Identity Component = "identity"
	// Logs is the function's log group, created with a retention and deleted with the handler.
	Logs Component = "logs"
	// Function is the serverless function.
	Function Component = "function"
	// Topic is the fan-out topic created for trigger.kind = "topic" without trigger.source.
	Topic Component = "topic"
	// Queue is the queue the function consumes: created, or adopted from trigger.source.
	Queue Component = "queue"
	// Subscription links a topic to the handler's queue.
	Subscription Component = "subscription"
	// Mapping delivers the queue's messages to the function (an event source mapping, a push subscription).
	Mapping Component = "mapping"
	// DeadLetter is the dead-letter queue.
	DeadLetter Component = "dead_letter"
	// DedupTable is the table handlers use to drop duplicates.
	DedupTable Component = "dedup_table"
)

// State is what the provider keeps between calls for one handler, verbatim in its private state: the
// cloud id of each component that exists under its Component name, and driver-private values under
// other keys (such as the settings an adopted queue had before, to restore on delete).
// A component absent from State does not exist as far as the provider knows.
type State map[string]string

// Has reports whether the state records component c.
func (s State) Has(c Component) bool { return s[string(c)] != "" }

// Get returns the cloud id of component c, or "".
func (s State) Get(c Component) string { return s[string(c)] }

// Clone returns a copy that the caller may change.
func (s State) Clone() State {
	c := make(State, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}

// Code is the function's package: the deterministic zip and the hex sha256 of its bytes.
type Code struct {
	Zip  []byte
	Hash string
}

// Outputs are the computed attributes every cloud fills in.
type Outputs struct {
	// FunctionID is the function's cloud id.
	FunctionID string
	// TriggerSourceID is the id of the queue or topic consumed.
	TriggerSourceID string
	// PublishTarget is what a producer passes to the cloud's send API: a queue URL, a topic id.
	PublishTarget string
	DeadLetterID  string
	DedupTableID  string
	// IdentityID is the function's identity, to which users attach permissions for their own writes.
	IdentityID string
}

// Observed is a handler as the cloud has it.
type Observed struct {
	// Handler holds every setting the cloud reports. Settings of a missing component are left zero.
	// What the cloud cannot know is left zero too: the code's source path, which variables were
	// secret (all arrive in Environment), and an adopted queue's prior settings.
	Handler spec.Handler
	// State is the input state less the components found gone (and with ids the driver refreshed).
	State State
	// Missing lists the components the input state recorded and the cloud no longer has.
	Missing []Component
	// Drifted lists components present whose settings differ from what Apply makes in ways Handler
	// cannot show (a changed role or queue policy, a redrive policy naming another queue, TTL turned
	// off, a component's tags differing from the handler's). The provider plans an update for them,
	// keeping their ids; Apply puts them right.
	Drifted []Component
	Outputs Outputs
}

// Driver realises handlers on one cloud. Every method is safe for concurrent use. Drivers retry what
// the cloud documents as transient (throttling, eventual consistency such as a new role that cannot be
// assumed yet) within ctx's deadline; the error that escapes is a *Error naming the component.
type Driver interface {
	// Check validates what needs the driver's configuration, at plan time and without side effects
	// (for example that trigger.source lies in the provider's region). Static limits are spec.Validate's.
	Check(ctx context.Context, h *spec.Handler) []spec.Problem

	// Apply makes the cloud match desired, starting from the components recorded in st (none on
	// create). It creates missing components, independent ones concurrently; updates settings in place;
	// and deletes components desired no longer uses (after a trigger kind swap). Code is uploaded when
	// code is non-nil; callers pass it on create and whenever the cloud's Plan says Change.Code, and a
	// driver that needs code it was not given returns InvalidArgument. It returns the state of every component that
	// exists when it returns, on error too, so the caller can roll back or record them: nothing it
	// created is ever unknown to the caller.
	Apply(ctx context.Context, desired *spec.Handler, code *Code, st State) (State, Outputs, error)

	// Read observes every component recorded in st, once each. A component that is gone is reported
	// in Missing, not as an error.
	Read(ctx context.Context, st State) (*Observed, error)

	// Delete deletes every component recorded in st in dependency order, treating "already gone" as
	// success, and restores what it changed on adopted components. It returns the state of those it
	// could not delete, with the error.
	Delete(ctx context.Context, st State) (State, error)

	// Locate finds the components of the handler named name as this driver names them, for import.
	// It also finds what an apply killed half-way left (the function may not exist yet), so that
	// importing it and applying again converges. It returns a *Error with code NotFound when the
	// handler has no function and no identity that names it.
	Locate(ctx context.Context, name string) (State, error)

	// ImportID is the id under which the handler named name imports: "<cloud>/<scope...>/<name>".
	ImportID(name string) string
}

// Settled returns the observed handler with the settings of missing components taken from prior, so
// that a deleted component shows in the plan as recreated rather than as every one of its settings
// changing to zero. holds is the cloud's Cloud.Holds. Settings the cloud cannot know are taken from
// prior too.
func (o *Observed) Settled(prior *spec.Handler, holds map[Component][]string) spec.Handler {
	h := o.Handler
	for _, c := range o.Missing {
		for _, path := range holds[c] {
			spec.CopySetting(&h, prior, path)
		}
	}
	h.Name, h.Cloud = prior.Name, prior.Cloud
	h.Function.SourceDir, h.Function.SourceZip = prior.Function.SourceDir, prior.Function.SourceZip
	return h
}
