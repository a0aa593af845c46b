package gcpfake

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
)

// Invocation is one request to a function's URI.
type Invocation struct {
	// Function is the function's name (projects/p/locations/r/functions/id).
	Function string
	Method   string
	// Path is the request path after the function's URI ("" or "/sub").
	Path   string
	Header http.Header
	Body   []byte
	// Status is the status the InvokeFunc answered.
	Status int
	Time   time.Time
}

// serveHTTP serves the upload URLs (PUT /upload/<bucket>/<object>) and the function URIs
// (/functions/<project>/<region>/<id>).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/upload/"):
		s.serveUpload(w, r)
	case strings.HasPrefix(r.URL.Path, "/functions/"):
		s.serveFunction(w, r)
	default:
		http.NotFound(w, r)
	}
}

// gcsError writes an XML error the way Cloud Storage answers a signed URL.
func gcsError(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code><Message>%s</Message></Error>", errCode, msg)
}

// serveUpload plays the signed upload URL: PUT only, Content-Type application/zip (part of the
// signature), and no Authorization header (a signed URL refuses a second credential).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/upload/")
	bucket, object, _ := strings.Cut(key, "/")
	token := strings.TrimSuffix(object, ".zip")
	s.lock()
	u, ok := s.st.uploads[token]
	s.mu.Unlock()
	if !ok || u.bucket != bucket || u.object != object {
		gcsError(w, http.StatusForbidden, "AccessDenied", "Access denied: the signed URL is unknown or expired.")
		return
	}
	if r.Header.Get("Authorization") != "" {
		gcsError(w, http.StatusBadRequest, "AuthenticationRequired",
			"Cannot use both a signed URL and an Authorization header: send the upload without credentials.")
		return
	}
	if r.Method != http.MethodPut {
		gcsError(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided: the URL is signed for PUT.")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/zip" {
		gcsError(w, http.StatusForbidden, "SignatureDoesNotMatch",
			fmt.Sprintf("The request signature we calculated does not match the signature you provided: the URL is signed for Content-Type application/zip, not %q.", r.Header.Get("Content-Type")))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 100<<20+1))
	if err != nil {
		gcsError(w, http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	if len(body) > 100<<20 {
		gcsError(w, http.StatusRequestEntityTooLarge, "EntityTooLarge", "Source archives are limited to 100 MB.")
		return
	}
	s.lock()
	s.st.sources[key] = body
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// serveFunction hands a request for an ACTIVE function to the InvokeFunc and records it.
func (s *Server) serveFunction(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/functions/"), "/", 4)
	if len(parts) < 3 {
		http.NotFound(w, r)
		return
	}
	name := fmt.Sprintf("projects/%s/locations/%s/functions/%s", parts[0], parts[1], parts[2])
	rest := ""
	if len(parts) == 4 {
		rest = "/" + parts[3]
	}
	s.lock()
	f, ok := s.st.functions[name]
	var fn *functionspb.Function
	var zipped []byte
	invoke := s.invoke
	if ok {
		fn, zipped = clone(f.fn), bytes.Clone(f.zip)
	}
	s.mu.Unlock()
	if !ok || zipped == nil {
		http.Error(w, "Error: Page not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if invoke == nil {
		w.WriteHeader(http.StatusOK)
	} else {
		invoke(fn, zipped, rec, r)
	}
	s.mu.Lock()
	s.invocations = append(s.invocations, Invocation{Function: name, Method: r.Method, Path: rest, Header: r.Header.Clone(), Body: body, Status: rec.status, Time: time.Now()})
	s.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Invocations returns the requests made to function URIs since the last Reset, in order.
func (s *Server) Invocations() []Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.invocations)
}

// Uploaded returns the bytes uploaded to gs://bucket/object through an upload URL.
func (s *Server) Uploaded(bucket, object string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.st.sources[bucket+"/"+object]
	return bytes.Clone(b), ok
}
