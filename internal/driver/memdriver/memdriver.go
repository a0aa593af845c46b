// Package memdriver is an in-memory driver.Driver: a cloud that keeps components in maps. It runs the
// conformance suite in milliseconds and lets the provider's glue be tested through the Terraform CLI
// without an emulator. It is its own test-only cloud, "mem", unlike any real one on purpose (no log
// group, no mapping, its own limits, defaults, names and import id): tests of the glue on it prove
// that the glue holds nothing of another cloud. Only test code registers it.
package memdriver

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Cloud is the in-memory cloud: every component that exists, by id, with the handler it serves.
type Cloud struct {
	mu         sync.Mutex
	components map[string]*spec.Handler
	sources    map[string]bool
	failCreate map[driver.Component]bool
}

// NewCloud returns an empty cloud.
func NewCloud() *Cloud {
	return &Cloud{components: map[string]*spec.Handler{}, sources: map[string]bool{}, failCreate: map[driver.Component]bool{}}
}

// Driver returns a driver for c in scope (the mem cloud's account and region in one).
func (c *Cloud) Driver(scope string) *Driver { return &Driver{cloud: c, scope: scope} }

// FailCreate makes the next creation of component comp fail.
func (c *Cloud) FailCreate(comp driver.Component) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failCreate[comp] = true
}

// Pause pauses the delivery of the function with id behind any driver's back.
func (c *Cloud) Pause(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.components[id]; ok {
		paused := *h
		paused.Trigger.Paused = true
		c.components[id] = &paused
	}
}

// Remove deletes the component with id behind any driver's back.
func (c *Cloud) Remove(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.components, id)
}

// Leftovers lists the ids of every component that exists, less the sources AddSource made.
func (c *Cloud) Leftovers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for cid := range c.components {
		if !c.sources[cid] {
			ids = append(ids, cid)
		}
	}
	slices.Sort(ids)
	return ids
}

// AddSource makes a queue or topic in scope that belongs to no handler and returns its id.
func (c *Cloud) AddSource(kind spec.TriggerKind, scope, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := sourceID(kind, scope, name)
	c.sources[id] = true
	return id
}

// Driver realises handlers in a Cloud.
type Driver struct {
	cloud *Cloud
	scope string
}

var _ driver.Driver = (*Driver)(nil)

// id is the id of component c of the handler named name. The dedup table's name is global on this
// cloud, as a storage account's is on Azure: it carries a hash of the scope and the handler's name.
func (d *Driver) id(c driver.Component, name string) string {
	if c == driver.DedupTable {
		name = spec.ComponentName(name, spec.ShortHash(d.scope, name))
	}
	return fmt.Sprintf("mem:%s:%s", c, name)
}

// componentID is the id of component c of h: an adopted queue keeps its own.
func (d *Driver) componentID(c driver.Component, h *spec.Handler) string {
	if c == driver.Queue && h.Trigger.Kind == spec.Queue && h.Trigger.Source != "" {
		return h.Trigger.Source
	}
	return d.id(c, h.Name)
}

func (d *Driver) Check(_ context.Context, h *spec.Handler) []spec.Problem {
	if h.Trigger.Source != "" && !d.cloud.hasSource(h.Trigger.Source) {
		return []spec.Problem{{Path: []string{"trigger", "source"}, Summary: "Trigger source not found", Detail: fmt.Sprintf("%q does not exist.", h.Trigger.Source)}}
	}
	return nil
}

func (c *Cloud) hasSource(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sources[id]
}

func (d *Driver) Apply(_ context.Context, desired *spec.Handler, code *driver.Code, st driver.State) (driver.State, driver.Outputs, error) {
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	st = st.Clone()
	want := needs(desired)
	for _, comp := range order {
		if st.Has(comp) && !slices.Contains(want, comp) {
			delete(c.components, st.Get(comp))
			delete(st, string(comp))
		}
	}
	for _, comp := range want {
		cid := d.componentID(comp, desired)
		if st.Get(comp) == cid {
			if _, ok := c.components[cid]; ok {
				h := *desired
				c.components[cid] = &h
				continue
			}
		}
		if c.failCreate[comp] {
			delete(c.failCreate, comp)
			return st, driver.Outputs{}, driver.Errorf(comp, "creating", cid, driver.InvalidArgument, fmt.Errorf("injected failure"))
		}
		if comp == driver.Function && code == nil && st.Get(comp) == "" {
			return st, driver.Outputs{}, driver.Errorf(comp, "creating", cid, driver.InvalidArgument, fmt.Errorf("no code to create the function from"))
		}
		h := *desired
		c.components[cid] = &h
		st[string(comp)] = cid
	}
	if code != nil {
		c.components[st.Get(driver.Function)].Function.SourceHash = code.Hash
	}
	return st, d.outputs(desired.Trigger, st), nil
}

func (d *Driver) outputs(t spec.Trigger, st driver.State) driver.Outputs {
	out := driver.Outputs{
		FunctionID: st.Get(driver.Function), TriggerSourceID: st.Get(driver.Queue), PublishTarget: st.Get(driver.Queue),
		DeadLetterID: st.Get(driver.DeadLetter), DedupTableID: st.Get(driver.DedupTable), IdentityID: st.Get(driver.Identity),
	}
	if t.Kind == spec.Topic {
		topic := t.Source
		if topic == "" {
			topic = st.Get(driver.Topic)
		}
		out.TriggerSourceID, out.PublishTarget = topic, topic
	}
	return out
}

func (d *Driver) Read(_ context.Context, st driver.State) (*driver.Observed, error) {
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	obs := &driver.Observed{State: st.Clone()}
	for _, comp := range order {
		if !st.Has(comp) {
			continue
		}
		h, ok := c.components[st.Get(comp)]
		if !ok {
			obs.Missing = append(obs.Missing, comp)
			delete(obs.State, string(comp))
			continue
		}
		d.observe(&obs.Handler, comp, h)
	}
	obs.Outputs = d.outputs(obs.Handler.Trigger, obs.State)
	return obs, nil
}

// observe copies the settings component comp holds (Cloud.Holds), as a cloud's read of that
// component would. Secrets arrive with the other variables, as on every cloud.
func (d *Driver) observe(o *spec.Handler, comp driver.Component, h *spec.Handler) {
	o.Name, o.Cloud = h.Name, h.Cloud
	for _, path := range holds[comp] {
		spec.CopySetting(o, h, path)
	}
	if comp == driver.Function {
		env := maps.Clone(h.Function.Environment)
		if env == nil {
			env = map[string]string{}
		}
		maps.Copy(env, h.Function.SecretEnvironment)
		o.Function.Environment, o.Function.SecretEnvironment = env, nil
		o.Tags = maps.Clone(h.Tags)
	}
}

func (d *Driver) Delete(_ context.Context, st driver.State) (driver.State, error) {
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, comp := range order {
		// An adopted queue is the user's: it stays.
		if cid := st.Get(comp); cid != "" && !c.sources[cid] {
			delete(c.components, cid)
		}
	}
	return driver.State{}, nil
}

func (d *Driver) Locate(_ context.Context, name string) (driver.State, error) {
	c := d.cloud
	c.mu.Lock()
	defer c.mu.Unlock()
	// Without a function (an apply killed before it), the role stands in for it, as on a cloud.
	h, ok := c.components[d.id(driver.Function, name)]
	if !ok {
		h, ok = c.components[d.id(driver.Identity, name)]
	}
	if !ok {
		return nil, driver.Errorf(driver.Function, "reading", name, driver.NotFound, fmt.Errorf("function %s not found", name))
	}
	st := driver.State{}
	for _, comp := range needs(h) {
		cid := d.componentID(comp, h)
		if _, ok := c.components[cid]; ok {
			st[string(comp)] = cid
		}
	}
	return st, nil
}

func (d *Driver) ImportID(name string) string { return "mem/" + d.scope + "/" + name }
