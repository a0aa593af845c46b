package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Cloud describes one cloud to the provider, in one place: what a handler is made of there, its
// defaults and limits, the provider block that configures it and the driver that realises it. The
// provider reads this and never asks which cloud it is; adding a cloud is a driver package that
// declares its Cloud plus one line in the provider's registration.
type Cloud struct {
	// Name is the value of the resource's cloud attribute and of the provider block ("aws").
	Name spec.Cloud
	// Title names the cloud in docs ("AWS").
	Title string
	// Planned marks a cloud declared for a later version: its provider block exists, it has no driver.
	Planned bool
	// Components lists every component the cloud can make for a handler, in creation order (the
	// reverse of deletion order), with the names diagnostics use.
	Components []ComponentInfo
	// Needs lists, in creation order, the components a handler like h has once applied.
	Needs func(h *spec.Handler) []Component
	// Holds lists the settings (spec attribute paths) each component holds, so that a component gone
	// out of band shows in the plan as recreated rather than as its settings changing to zero.
	Holds map[Component][]string
	// Rules are the cloud's defaults and limits.
	Rules *spec.Rules
	// Meaning says what some settings become on this cloud (a queue's visibility timeout), for the docs.
	Meaning map[string]string
	// Timeouts are the default bounds of create, update and delete.
	Timeouts Timeouts
	// ImportID is the form of an import id, for docs and diagnostics ("aws/<region>/<name>").
	ImportID string
	// Settings are the attributes of the cloud's block in the provider's configuration.
	Settings []Setting
	// Open returns a driver configured by the provider block's values.
	Open func(ctx context.Context, s Settings) (Driver, error)
	// Plan says what applying desired over prior changes: the components replaced, whether the
	// function needs its code, and warnings for the user. It calls no API.
	Plan func(prior, desired *spec.Handler) Change
}

// ComponentInfo is one component as the cloud makes it.
type ComponentInfo struct {
	Component Component
	// Display is how diagnostics name it ("dead-letter queue").
	Display string
}

// Timeouts bound each operation.
type Timeouts struct {
	Create, Update, Delete time.Duration
}

// Change is what a plan over an existing handler implies.
type Change struct {
	// Replace lists the components whose cloud ids change: the plan shows every id unknown.
	Replace []Component
	// Code reports that the function takes new code: its package is built and uploaded.
	Code bool
	// Warnings are shown with the plan (a trigger swap drops the messages not yet delivered).
	Warnings []spec.Problem
}

// Display returns how diagnostics name component c on this cloud.
func (c *Cloud) Display(comp Component) string {
	for _, ci := range c.Components {
		if ci.Component == comp && ci.Display != "" {
			return ci.Display
		}
	}
	return DisplayName(comp)
}

// Order returns the cloud's components in creation order.
func (c *Cloud) Order() []Component { return Order(c.Components) }

// Order returns the components of cs, in their order.
func Order(cs []ComponentInfo) []Component {
	out := make([]Component, len(cs))
	for i, ci := range cs {
		out[i] = ci.Component
	}
	return out
}

// SettingType is the type of a provider setting.
type SettingType int

const (
	String SettingType = iota
	Int
	StringMap
)

// Setting is one attribute of a cloud's provider block.
type Setting struct {
	Name        string
	Type        SettingType
	Description string
	Sensitive   bool
	// Keys, for a StringMap, are the keys it accepts (any when empty).
	Keys []string
	// Min and Max bound an Int when Max > 0.
	Min, Max int64
	// Removed, when set, says where the setting went: setting it is an error with this text.
	Removed string
}

// Settings are a provider block's values by setting name: string, int64 or map[string]string; unset
// settings are absent.
type Settings map[string]any

// String returns the string setting name, or "".
func (s Settings) String(name string) string { v, _ := s[name].(string); return v }

// Int returns the integer setting name, or 0.
func (s Settings) Int(name string) int64 { v, _ := s[name].(int64); return v }

// Map returns the map setting name, or nil.
func (s Settings) Map(name string) map[string]string { v, _ := s[name].(map[string]string); return v }

// TriggerSwapWarning is the plan's warning when a handler's trigger kind or source changes: the old
// trigger is deleted (or, if adopted, released) and what it still held is not delivered to the handler.
func TriggerSwapWarning(prior, desired *spec.Handler) spec.Problem {
	path := []string{"trigger", "kind"}
	if prior.Trigger.Kind == desired.Trigger.Kind {
		path = []string{"trigger", "source"}
	}
	return spec.Problem{Path: path, Warning: true, Summary: "Trigger replaced",
		Detail: fmt.Sprintf("Changing trigger.kind or trigger.source replaces the handler's trigger (%s%s to %s%s): messages the old trigger "+
			"holds that are not delivered yet are dropped with it, or stay in an adopted source the handler no longer reads. "+
			"Drain it first if they matter.", prior.Trigger.Kind, sourceNote(prior), desired.Trigger.Kind, sourceNote(desired))}
}

func sourceNote(h *spec.Handler) string {
	if h.Trigger.Source == "" {
		return ""
	}
	return " " + h.Trigger.Source
}
