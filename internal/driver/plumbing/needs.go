package plumbing

import (
	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Needs is a Cloud.Needs for clouds whose trigger is a queue, fed by a topic for kind topic: of the
// components in order, a handler has a topic only when it makes its own (no trigger.source), and a
// subscription only for kind topic. Every other component it always has.
func Needs(order []driver.Component, h *spec.Handler) []driver.Component {
	var cs []driver.Component
	for _, c := range order {
		switch {
		case c == driver.Topic && (h.Trigger.Kind != spec.Topic || h.Trigger.Source != ""),
			c == driver.Subscription && h.Trigger.Kind != spec.Topic:
			continue
		}
		cs = append(cs, c)
	}
	return cs
}
