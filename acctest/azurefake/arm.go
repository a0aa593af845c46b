package azurefake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// armError is an error answered as ARM answers it: {"error":{"code","message"}}.
type armError struct {
	status  int
	code    string
	message string
}

func (e *armError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, args ...any) *armError {
	return &armError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badRequest(code, format string, args ...any) *armError {
	return errf(http.StatusBadRequest, code, format, args...)
}

func (e *armError) body() map[string]any {
	return map[string]any{"error": map[string]any{"code": e.code, "message": e.message}}
}

// reply is an answer built under the server's lock and written after it.
type reply struct {
	status int
	header http.Header
	body   any // marshalled as JSON unless []byte
}

func errReply(e *armError) *reply { return &reply{status: e.status, body: e.body()} }

func jsonReply(status int, body any) *reply { return &reply{status: status, body: body} }

func (r *reply) write(w http.ResponseWriter) {
	for k, vs := range r.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("x-ms-request-id", "azurefake")
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	b, ok := r.body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(r.body); err != nil {
			b = []byte(`{"error":{"code":"InternalServerError","message":"azurefake: marshal failed"}}`)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(b)
}

// armPath is a parsed Resource Manager path.
type armPath struct {
	raw    string
	sub    string
	rg     string
	scope  string   // everything before the last /providers/ ("" when there is none)
	ns     string   // provider namespace after the last /providers/
	types  []string // resource type segments after the namespace
	names  []string // their names
	action string   // a trailing segment without a name ("list", "register")
}

// fullType is "Microsoft.Web/sites/config".
func (p *armPath) fullType() string {
	if p.ns == "" {
		return ""
	}
	return p.ns + "/" + strings.Join(p.types, "/")
}

// id is the resource id, without the action.
func (p *armPath) id() string {
	id := p.scope + "/providers/" + p.ns
	for i := range p.types {
		id += "/" + p.types[i] + "/" + p.names[i]
	}
	return id
}

// name is the last name.
func (p *armPath) name() string {
	if len(p.names) == 0 {
		return ""
	}
	return p.names[len(p.names)-1]
}

// qualifiedName is "namespaces/ns/queues/q": the types and names after the namespace.
func (p *armPath) qualifiedName() string {
	var parts []string
	for i := range p.types {
		parts = append(parts, p.types[i], p.names[i])
	}
	return strings.Join(parts, "/")
}

func parsePath(path string) *armPath {
	p := &armPath{raw: path}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		p.sub = segs[1]
		if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
			p.rg = segs[3]
		}
	}
	last := -1
	for i, s := range segs {
		if strings.EqualFold(s, "providers") && i+1 < len(segs) {
			last = i
		}
	}
	if last < 0 {
		p.scope = "/" + strings.Join(segs, "/")
		return p
	}
	p.scope = ""
	if last > 0 {
		p.scope = "/" + strings.Join(segs[:last], "/")
	}
	p.ns = segs[last+1]
	rest := segs[last+2:]
	for len(rest) >= 2 {
		p.types = append(p.types, rest[0])
		p.names = append(p.names, rest[1])
		rest = rest[2:]
	}
	if len(rest) == 1 {
		p.action = rest[0]
	}
	return p
}

// opName names a request for Calls, after ARM's RBAC operation names:
// "Microsoft.Web/sites/read", "Microsoft.Web/sites/config/list/action".
func opName(method string, p *armPath) string {
	t := p.fullType()
	switch {
	case p.ns == "" && p.rg != "":
		t = "Microsoft.Resources/subscriptions/resourceGroups"
	case p.ns == "":
		t = "Microsoft.Resources/subscriptions"
	case len(p.types) == 0:
		t = p.ns
	}
	if p.action != "" {
		return t + "/" + p.action + "/action"
	}
	switch method {
	case http.MethodGet, http.MethodHead:
		return t + "/read"
	case http.MethodPut, http.MethodPatch:
		return t + "/write"
	case http.MethodDelete:
		return t + "/delete"
	}
	return t + "/" + strings.ToLower(method)
}

// call is one request being served.
type call struct {
	r      *http.Request
	p      *armPath
	body   []byte
	failOp *armError // Fault.FailOperation: the operation this request starts fails so
}

func (c *call) decode() (map[string]any, *armError) {
	m := map[string]any{}
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil, badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: the body is empty.")
	}
	d := json.NewDecoder(bytes.NewReader(c.body))
	if err := d.Decode(&m); err != nil {
		return nil, badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: %v.", err)
	}
	return m, nil
}

func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 200<<20))
	return b
}

// Helpers over decoded JSON.

func obj(m map[string]any, path ...string) map[string]any {
	cur := m
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

func ensureObj(m map[string]any, path ...string) map[string]any {
	cur := m
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	return cur
}

func field(m map[string]any, path ...string) (any, bool) {
	if len(path) == 0 {
		return nil, false
	}
	parent := obj(m, path[:len(path)-1]...)
	if parent == nil {
		return nil, false
	}
	v, ok := parent[path[len(path)-1]]
	if v == nil {
		return nil, false
	}
	return v, ok
}

func str(m map[string]any, path ...string) string {
	v, _ := field(m, path...)
	s, _ := v.(string)
	return s
}

func number(m map[string]any, path ...string) (float64, bool) {
	v, ok := field(m, path...)
	if !ok {
		return 0, false
	}
	f, ok := v.(float64)
	return f, ok
}

func boolean(m map[string]any, path ...string) (value, set bool) {
	v, ok := field(m, path...)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	return b, ok
}

func setDefault(m map[string]any, v any, path ...string) {
	if _, ok := field(m, path...); ok {
		return
	}
	ensureObj(m, path[:len(path)-1]...)[path[len(path)-1]] = v
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

func isGUID(s string) bool { return guidPattern.MatchString(s) }

func newGUID() string { return uuid.NewString() }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
