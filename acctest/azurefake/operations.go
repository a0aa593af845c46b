package azurefake

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// operation is a long-running operation started by a PUT or DELETE.
type operation struct {
	id     string
	sub    string
	ns     string
	loc    string
	start  time.Time
	polls  int
	status string // InProgress, Succeeded, Failed
	fail   *armError
	resKey string // lower-case resource id
	method string
	soft   bool // a DELETE that soft-deletes (kind.softDelete without force=true)
}

// startsOperation tells whether a request is a PUT or DELETE of a type whose PUT or DELETE is
// long-running.
func startsOperation(c *call) bool {
	k := kinds[strings.ToLower(c.p.fullType())]
	if k == nil || k.custom != nil || c.p.action != "" {
		return false
	}
	return (c.r.Method == http.MethodPut && k.lroPut) || (c.r.Method == http.MethodDelete && k.lroDelete)
}

func isOperationStatus(p *armPath) bool {
	return len(p.types) == 2 && strings.EqualFold(p.types[0], "locations") &&
		(strings.EqualFold(p.types[1], "operationStatuses") || strings.EqualFold(p.types[1], "operationResults")) && p.rg == ""
}

// startOperation records an operation on r and returns the headers of its first answer.
// Callers hold the lock.
func (s *Server) startOperation(c *call, r *resource) http.Header {
	op := &operation{
		id: newGUID(), sub: c.p.sub, ns: c.p.ns, loc: strings.ToLower(strings.ReplaceAll(s.opts.Location, " ", "")),
		start: time.Now(), status: "InProgress", fail: c.failOp, resKey: strings.ToLower(r.id), method: c.r.Method,
	}
	s.st.ops[op.id] = op
	r.op = op.id
	base := fmt.Sprintf("%s/subscriptions/%s/providers/%s/locations/%s", s.url, op.sub, op.ns, op.loc)
	v := "?api-version=" + c.r.URL.Query().Get("api-version")
	h := http.Header{}
	h.Set("Azure-AsyncOperation", base+"/operationStatuses/"+op.id+v)
	h.Set("Location", base+"/operationResults/"+op.id+v)
	s.retryAfter(h)
	return h
}

func (s *Server) retryAfter(h http.Header) {
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(s.opts.RetryAfter.Seconds()))))
	if s.opts.RetryAfter > 0 {
		h.Set("retry-after-ms", strconv.FormatInt(s.opts.RetryAfter.Milliseconds(), 10))
	}
}

// settle completes the operations that are due at now. Callers hold the lock.
func (s *Server) settle(now time.Time) {
	for _, op := range s.st.ops {
		if op.status != "InProgress" {
			continue
		}
		due := now.Sub(op.start) >= s.opts.OperationDelay
		if due && (op.polls > 0 || now.Sub(op.start) >= s.opts.OperationDelay+unpolledGrace) {
			s.finish(op)
		}
	}
}

// finish ends op and applies its effect on its resource.
func (s *Server) finish(op *operation) {
	op.status = "Succeeded"
	if op.fail != nil {
		op.status = "Failed"
	}
	r := s.st.res[op.resKey]
	if r == nil || r.op != op.id {
		return
	}
	r.op = ""
	switch {
	case op.method == http.MethodDelete && op.fail == nil && op.soft:
		s.st.softDelete(r)
	case op.method == http.MethodDelete && op.fail == nil:
		s.st.remove(r)
	case op.method == http.MethodDelete:
		r.state = "Succeeded"
	case op.fail != nil:
		r.state = "Failed"
	default:
		r.state = "Succeeded"
	}
}

// handleOperation serves an operation's status (Azure-AsyncOperation) and result (Location).
func (s *Server) handleOperation(c *call) *reply {
	op := s.st.ops[c.p.names[1]]
	if op == nil || !strings.EqualFold(op.sub, c.p.sub) {
		return errReply(errf(http.StatusNotFound, "OperationNotFound", "The operation '%s' could not be found.", c.p.names[1]))
	}
	h := http.Header{}
	inProgress := op.status == "InProgress"
	if inProgress {
		op.polls++
		s.retryAfter(h)
	}
	if strings.EqualFold(c.p.types[1], "operationResults") {
		switch {
		case inProgress:
			h.Set("Location", s.url+c.r.URL.RequestURI())
			return &reply{status: http.StatusAccepted, header: h}
		case op.fail != nil:
			return errReply(op.fail)
		case op.method == http.MethodDelete:
			return &reply{status: http.StatusNoContent}
		}
		r := s.st.res[op.resKey]
		if r == nil {
			return &reply{status: http.StatusNoContent}
		}
		return jsonReply(http.StatusOK, s.render(r))
	}
	body := map[string]any{
		"id":        c.p.raw,
		"name":      op.id,
		"status":    op.status,
		"startTime": op.start.UTC().Format(time.RFC3339Nano),
	}
	if !inProgress {
		body["endTime"] = time.Now().UTC().Format(time.RFC3339Nano)
	}
	if op.fail != nil && !inProgress {
		body["error"] = map[string]any{"code": op.fail.code, "message": op.fail.message}
	}
	return &reply{status: http.StatusOK, header: h, body: body}
}
