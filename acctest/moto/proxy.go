package moto

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Fault fails requests to one action with an AWS-shaped error that the SDK does not retry.
type Fault struct {
	// Service is the signing name ("iam", "lambda", "sqs", "sns", "dynamodb", "logs").
	Service string
	// Action is the API operation ("CreateQueue").
	Action string
	// Match, when set, must occur in the request's path or body (a resource name, for example).
	Match string
	// Times is how many matching requests fail; 0 means one.
	Times int
	// Code and Message default to "InjectedFault" and a note saying who failed the call.
	Code, Message string
	// LoseResponse lets the request reach moto and then drops the connection instead of answering, as
	// when a response is lost on the way back: the call took effect, and the client sees a transport
	// error. Code and Message are unused.
	LoseResponse bool
}

type proxy struct {
	url    string
	srv    *http.Server
	rp     *httputil.ReverseProxy
	mu     sync.Mutex
	faults []*Fault
	count  map[string]int
	log    []string
}

func newProxy(target string) (*proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{url: "http://" + l.Addr().String(), rp: httputil.NewSingleHostReverseProxy(u), count: map[string]int{}}
	p.srv = &http.Server{Handler: p}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *proxy) close() { _ = p.srv.Close() }

func (p *proxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults, p.count, p.log = nil, map[string]int{}, nil
}

func (p *proxy) addFault(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Code == "" {
		f.Code = "InjectedFault"
	}
	if f.Message == "" {
		f.Message = fmt.Sprintf("%s:%s failed by the moto test proxy", f.Service, f.Action)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &f)
}

func (p *proxy) calls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.count)
}

func (p *proxy) resetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count, p.log = map[string]int{}, nil
}

func (p *proxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/moto-api/") {
		p.rp.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	service, action := identify(r, body)
	f := p.take(service, action, r.URL.Path+" "+string(body))
	switch {
	case f == nil:
		p.rp.ServeHTTP(w, r)
	case f.LoseResponse:
		p.rp.ServeHTTP(httptest.NewRecorder(), r)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	default:
		writeError(w, r, f)
	}
}

// take counts the request and returns the fault it triggers, if any.
func (p *proxy) take(service, action, text string) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count[service+":"+action]++
	p.log = append(p.log, service+":"+action)
	for i, f := range p.faults {
		if f.Service == service && f.Action == action && strings.Contains(text, f.Match) {
			if f.Times--; f.Times == 0 {
				p.faults = append(p.faults[:i], p.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

// identify names a request's service (from its SigV4 credential scope) and action (from the JSON
// target header, the query protocol's Action, or Lambda's REST route).
func identify(r *http.Request, body []byte) (service, action string) {
	// Credential=AKID/20240101/us-east-1/sqs/aws4_request
	if _, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		if parts := strings.Split(strings.SplitN(scope, ",", 2)[0], "/"); len(parts) >= 4 {
			service = parts[3]
		}
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return service, t[strings.LastIndex(t, ".")+1:]
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if v, err := url.ParseQuery(string(body)); err == nil {
			return service, v.Get("Action")
		}
	}
	if service == "lambda" {
		return service, lambdaAction(r.Method, r.URL.Path)
	}
	return service, r.Method + " " + r.URL.Path
}

// lambdaAction maps the Lambda REST routes the driver uses to their operation names.
func lambdaAction(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 {
		return method + " " + path
	}
	rest := parts[2:]
	switch parts[1] {
	case "functions":
		switch {
		case len(rest) == 0 && method == http.MethodPost:
			return "CreateFunction"
		case len(rest) == 0:
			return "ListFunctions"
		case len(rest) == 1:
			return map[string]string{http.MethodGet: "GetFunction", http.MethodDelete: "DeleteFunction"}[method]
		case rest[1] == "configuration":
			return map[string]string{http.MethodGet: "GetFunctionConfiguration", http.MethodPut: "UpdateFunctionConfiguration"}[method]
		case rest[1] == "code":
			return "UpdateFunctionCode"
		}
	case "event-source-mappings":
		if len(rest) == 0 || rest[0] == "" {
			return map[string]string{http.MethodPost: "CreateEventSourceMapping", http.MethodGet: "ListEventSourceMappings"}[method]
		}
		return map[string]string{http.MethodGet: "GetEventSourceMapping", http.MethodPut: "UpdateEventSourceMapping",
			http.MethodDelete: "DeleteEventSourceMapping"}[method]
	case "tags":
		return map[string]string{http.MethodPost: "TagResource", http.MethodGet: "ListTags", http.MethodDelete: "UntagResource"}[method]
	}
	return method + " " + path
}

// writeError answers in the error shape of the request's protocol: XML for the query protocol (IAM,
// SNS), a JSON body with X-Amzn-ErrorType for the JSON and REST-JSON ones.
func writeError(w http.ResponseWriter, r *http.Request, f *Fault) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		type errorBody struct {
			Type    string
			Code    string
			Message string
		}
		b, _ := xml.Marshal(struct {
			XMLName   xml.Name `xml:"ErrorResponse"`
			Error     errorBody
			RequestID string `xml:"RequestId"`
		}{Error: errorBody{Type: "Sender", Code: f.Code, Message: f.Message}, RequestID: "moto-proxy-fault"})
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(b)
		return
	}
	b, _ := json.Marshal(map[string]string{"__type": f.Code, "message": f.Message, "Type": "User"})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", f.Code)
	w.Header().Set("X-Amzn-RequestId", "moto-proxy-fault")
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10)) // DynamoDB's client checks it
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b)
}
