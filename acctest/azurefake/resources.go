package azurefake

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// resource is one resource's state, keyed by its lower-case id.
type resource struct {
	id       string
	typ      string
	name     string
	sub      string
	rg       string
	body     map[string]any // as last written, without read-only fields
	ro       map[string]any // read-only properties set by the fake
	extra    map[string]any // state that is not a property (a site's app settings)
	state    string         // provisioningState
	op       string         // running operation id
	created  time.Time
	implicit bool // exists by default: not listed by Leftovers
	zip      []byte
	deploys  int
}

type state struct {
	res map[string]*resource
	ops map[string]*operation
	// deleted holds soft-deleted resources (kind.softDelete), recoverable by a PUT of their id.
	deleted map[string]*resource
}

func newState() *state {
	return &state{res: map[string]*resource{}, ops: map[string]*operation{}, deleted: map[string]*resource{}}
}

func (st *state) get(id string) *resource { return st.res[strings.ToLower(id)] }

// remove deletes r and everything under its id: children, and role assignments scoped to it.
func (st *state) remove(r *resource) {
	key := strings.ToLower(r.id)
	for k := range st.res {
		if k == key || strings.HasPrefix(k, key+"/") {
			delete(st.res, k)
		}
	}
}

// softDelete removes r as remove does and keeps it recoverable.
func (st *state) softDelete(r *resource) {
	st.remove(r)
	r.state = "Deleted"
	st.deleted[strings.ToLower(r.id)] = r
}

// recover returns the soft-deleted resource of id, live again, or nil.
func (st *state) recover(id string) *resource {
	key := strings.ToLower(id)
	r := st.deleted[key]
	if r != nil {
		delete(st.deleted, key)
		st.res[key] = r
	}
	return r
}

func (st *state) siteByName(name string) *resource {
	for _, r := range st.res {
		if strings.EqualFold(r.typ, typeSites) && strings.EqualFold(r.name, name) && r.state != "Deleting" {
			return r
		}
	}
	return nil
}

// kind describes one resource type the fake serves.
type kind struct {
	typ string
	// implicitParent: the parent is a fixed singleton ("blobServices/default") skipped when looking
	// for the parent that must exist.
	implicitParent bool
	tracked        bool // a top-level tracked resource: location required, tags checked
	global         bool // name unique across every subscription
	lroPut         bool
	lroDelete      bool
	createStatus   int // of a PUT that creates (200 unless set)
	updateStatus   int // of a PUT that updates (200 unless set)
	patch          bool
	deleteBody     bool // a synchronous DELETE answers 200 with the deleted resource
	// softDelete: a DELETE without force=true keeps the resource recoverable: GET answers 404,
	// Leftovers lists it, and a PUT of its id recovers it with its read-only fields.
	softDelete bool
	nameRule   func(name string) *armError
	taken      func(name string) *armError
	// validate checks a PUT or PATCH body (merged with the old one for PATCH) and may fill defaults.
	validate func(s *Server, c *call, body map[string]any, old *resource) *armError
	// created sets the read-only fields of a new resource.
	created func(s *Server, r *resource)
	// render adds derived fields to a rendered resource.
	render func(s *Server, r *resource, out map[string]any)
	// beforeDelete may refuse a delete.
	beforeDelete func(s *Server, r *resource) *armError
	// custom serves the type entirely.
	custom func(s *Server, c *call) *reply
}

var kinds = map[string]*kind{}

func register(k *kind) { kinds[strings.ToLower(k.typ)] = k }

func notFound(p *armPath) *armError {
	if p.rg == "" {
		return errf(http.StatusNotFound, "ResourceNotFound", "The resource '%s' was not found.", p.id())
	}
	return errf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", p.ns, p.qualifiedName(), p.rg)
}

// parentID is the id of the resource that must exist before r (skipping a singleton such as
// blobServices/default), or "".
func parentID(p *armPath, k *kind) string {
	n := len(p.types) - 1
	if k.implicitParent {
		n--
	}
	if n <= 0 {
		return ""
	}
	q := &armPath{scope: p.scope, ns: p.ns, types: p.types[:n], names: p.names[:n]}
	return q.id()
}

// listKind returns the kind a GET of a collection path lists (".../namespaces/x/queues"), or nil.
func listKind(c *call) *kind {
	if c.r.Method != http.MethodGet || c.p.action == "" {
		return nil
	}
	t := c.p.ns + "/" + c.p.action
	if len(c.p.types) > 0 {
		t = c.p.fullType() + "/" + c.p.action
	}
	k := kinds[strings.ToLower(t)]
	if k == nil || k.custom != nil {
		return nil
	}
	return k
}

// list serves a collection: the resources of k directly under the path, or in the subscription for
// a subscription-level path (role assignments: at or below the scope, filtered by
// principalId eq '<id>' when $filter says so), in one page.
func (s *Server) list(c *call, k *kind) *reply {
	prefix := strings.ToLower(strings.TrimSuffix(c.p.raw, "/")) + "/"
	scope := ""
	if strings.EqualFold(k.typ, typeRoleAssignments) {
		scope = strings.ToLower(c.p.scope)
	}
	principal := ""
	if f := c.r.URL.Query().Get("$filter"); strings.HasPrefix(f, "principalId eq '") {
		principal = strings.TrimSuffix(strings.TrimPrefix(f, "principalId eq '"), "'")
	}
	var ids []string
	for key, r := range s.st.res {
		if !strings.EqualFold(r.typ, k.typ) {
			continue
		}
		switch {
		case scope != "":
			if !strings.HasPrefix(key, scope+"/") && !strings.HasPrefix(key, scope+"/providers/microsoft.authorization/") {
				continue
			}
			if principal != "" && !strings.EqualFold(str(r.body, "properties", "principalId"), principal) {
				continue
			}
		case c.p.rg == "" && len(c.p.types) == 0: // a subscription's top-level resources
			if !strings.HasPrefix(key, strings.ToLower("/subscriptions/"+c.p.sub+"/")) {
				continue
			}
		case !strings.HasPrefix(key, prefix) || strings.Contains(strings.TrimPrefix(key, prefix), "/"):
			continue
		}
		ids = append(ids, key)
	}
	sort.Strings(ids)
	values := []any{}
	for _, id := range ids {
		values = append(values, s.render(s.st.res[id]))
	}
	return jsonReply(http.StatusOK, map[string]any{"value": values})
}

func (s *Server) handleResource(c *call) *reply {
	p := c.p
	if k := listKind(c); k != nil {
		return s.list(c, k)
	}
	k := kinds[strings.ToLower(p.fullType())]
	if k == nil {
		return errReply(badRequest("InvalidResourceType", "The resource type '%s' could not be found in the namespace '%s' for api version '%s' (it is not served by azurefake).",
			strings.Join(p.types, "/"), p.ns, c.r.URL.Query().Get("api-version")))
	}
	if k.custom != nil {
		return k.custom(s, c)
	}
	r := s.st.get(p.id())
	if p.action != "" {
		return errReply(errf(http.StatusNotFound, "NotFound", "No route for %s %s.", c.r.Method, p.raw))
	}
	switch c.r.Method {
	case http.MethodGet:
		if r == nil {
			return errReply(notFound(p))
		}
		return jsonReply(http.StatusOK, s.render(r))
	case http.MethodPut:
		return s.put(c, k, r)
	case http.MethodPatch:
		if !k.patch {
			return errReply(errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The fake does not serve PATCH on %s.", k.typ))
		}
		if r == nil {
			return errReply(notFound(p))
		}
		body, e := c.decode()
		if e != nil {
			return errReply(e)
		}
		merged := clone(r.body)
		merge(merged, body)
		if k.validate != nil {
			if e := k.validate(s, c, merged, r); e != nil {
				return errReply(e)
			}
		}
		if k.tracked {
			if e := checkTags(merged); e != nil {
				return errReply(e)
			}
		}
		r.body = merged
		return jsonReply(http.StatusOK, s.render(r))
	case http.MethodDelete:
		if r == nil {
			return &reply{status: http.StatusNoContent}
		}
		if k.beforeDelete != nil {
			if e := k.beforeDelete(s, r); e != nil {
				return errReply(e)
			}
		}
		soft := k.softDelete && !strings.EqualFold(c.r.URL.Query().Get("force"), "true")
		if k.lroDelete {
			r.state = "Deleting"
			h := s.startOperation(c, r)
			s.st.ops[r.op].soft = soft
			return &reply{status: http.StatusAccepted, header: h}
		}
		if soft {
			s.st.softDelete(r)
			return &reply{status: http.StatusOK}
		}
		var body any
		if k.deleteBody {
			body = s.render(r)
		}
		s.st.remove(r)
		return &reply{status: http.StatusOK, body: body}
	}
	return errReply(errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The fake does not serve %s on %s.", c.r.Method, k.typ))
}

func (s *Server) put(c *call, k *kind, r *resource) *reply {
	p := c.p
	if k.nameRule != nil {
		if e := k.nameRule(p.name()); e != nil {
			return errReply(e)
		}
	}
	if pid := parentID(p, k); pid != "" {
		if pr := s.st.get(pid); pr == nil || pr.state == "Deleting" {
			q := parsePath(pid)
			return errReply(errf(http.StatusNotFound, "ParentResourceNotFound",
				"Can not perform requested operation on nested resource. Parent resource '%s' not found.", strings.Join(q.names, "/")))
		}
	}
	if r != nil && r.state == "Deleting" {
		return errReply(errf(http.StatusConflict, "Conflict", "The resource '%s' is being deleted.", p.id()))
	}
	body, e := c.decode()
	if e != nil {
		return errReply(e)
	}
	if k.tracked {
		if str(body, "location") == "" {
			return errReply(badRequest("LocationRequired", "The location property is required for this definition."))
		}
		if e := checkTags(body); e != nil {
			return errReply(e)
		}
	}
	if k.global && r == nil {
		for _, o := range s.st.res {
			if strings.EqualFold(o.typ, k.typ) && strings.EqualFold(o.name, p.name()) {
				return errReply(k.taken(p.name()))
			}
		}
	}
	for _, f := range []string{"id", "name", "type"} {
		delete(body, f)
	}
	if props := obj(body, "properties"); props != nil {
		delete(props, "provisioningState")
	}
	if k.validate != nil {
		if e := k.validate(s, c, body, r); e != nil {
			return errReply(e)
		}
	}
	status := k.updateStatus
	if r == nil {
		status = k.createStatus
		if r = s.st.recover(p.id()); r == nil {
			r = &resource{id: p.id(), typ: k.typ, name: p.name(), sub: p.sub, rg: p.rg, created: time.Now(), ro: map[string]any{}, extra: map[string]any{}, body: body}
			s.st.res[strings.ToLower(r.id)] = r
			if k.created != nil {
				k.created(s, r)
			}
		}
		r.state = "Creating"
	} else {
		r.state = "Updating"
	}
	r.body = body
	r.implicit = false
	if status == 0 {
		status = http.StatusOK
	}
	if !k.lroPut {
		r.state = "Succeeded"
		return jsonReply(status, s.render(r))
	}
	h := s.startOperation(c, r)
	if status == http.StatusAccepted {
		return &reply{status: status, header: h}
	}
	return &reply{status: status, header: h, body: s.render(r)}
}

// render is the resource as GET answers it.
func (s *Server) render(r *resource) map[string]any {
	out := clone(r.body)
	out["id"] = r.id
	out["name"] = r.name
	out["type"] = r.typ
	props := ensureObj(out, "properties")
	for k, v := range r.ro {
		props[k] = v
	}
	props["provisioningState"] = r.state
	if k := kinds[strings.ToLower(r.typ)]; k != nil && k.render != nil {
		k.render(s, r, out)
	}
	return out
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func checkTags(body map[string]any) *armError {
	tags := obj(body, "tags")
	if len(tags) > 50 {
		return badRequest("InvalidTagCount", "The resource has %d tags: at most 50 are allowed.", len(tags))
	}
	for k, v := range tags {
		vs, _ := v.(string)
		if k == "" || len(k) > 512 || len(vs) > 256 || strings.ContainsAny(k, "<>%&\\?/") {
			return badRequest("InvalidTagNameCharacters", "The tag '%s': names are 1-512 characters without <>%%&\\?/, values at most 256 characters.", k)
		}
	}
	return nil
}
