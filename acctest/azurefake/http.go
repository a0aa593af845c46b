package azurefake

import (
	"archive/zip"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// tokenLifetime is how long an issued token is valid.
const tokenLifetime = time.Hour

var tokenKey = func() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}()

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		s.serveConnect(w)
		return
	}
	body := readBody(r)
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	var op string
	var handle func(*call) *reply
	p := parsePath(r.URL.Path)
	c := &call{r: r, p: p, body: body}
	switch {
	case strings.HasSuffix(host, ".scm."+strings.ToLower(s.opts.SCMSuffix)):
		op, handle = "scm/publish", s.handleSCM
	case strings.HasSuffix(host, "."+ServiceBusSuffix):
		ns := strings.TrimSuffix(host, "."+ServiceBusSuffix)
		op, handle = sbOp(r), func(c *call) *reply { return s.handleServiceBus(c, ns) }
	case strings.HasSuffix(strings.ToLower(r.URL.Path), "/oauth2/v2.0/token"):
		op, handle = "token", s.handleToken
	case strings.HasSuffix(strings.ToLower(r.URL.Path), "/.well-known/openid-configuration"):
		op, handle = "openid-configuration", s.handleOpenID
	case strings.EqualFold(r.URL.Path, "/common/discovery/instance"):
		op, handle = "instance-discovery", s.handleDiscovery
	default:
		op, handle = opName(r.Method, p), s.handleARM
		if isOperationStatus(p) {
			op = p.ns + "/locations/operationStatuses/read"
		}
	}
	s.lock()
	f := s.count(r.Method, r.URL.Path, op)
	var rep *reply
	switch {
	case f == nil:
		rep = handle(c)
	case f.LoseResponse:
		_ = handle(c)
		s.mu.Unlock()
		loseResponse(w)
		return
	case f.FailOperation && startsOperation(c):
		c.failOp = errf(f.Status, f.Code, "%s", f.Message)
		rep = handle(c)
	default:
		rep = errReply(errf(f.Status, f.Code, "%s", f.Message))
	}
	s.mu.Unlock()
	rep.write(w)
}

func loseResponse(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// serveConnect tunnels a CONNECT (HTTPS_PROXY pointing at the fake) into the fake itself, so a
// process can reach <site>.scm.<suffix> without a resolver that knows it.
func (s *Server) serveConnect(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "CONNECT needs HTTP/1.1", http.StatusBadRequest)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if buf.Reader.Buffered() > 0 {
		_ = conn.Close()
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		_ = conn.Close()
		return
	}
	if !s.tunnel.push(conn) {
		_ = conn.Close()
	}
}

// handleARM serves the Resource Manager API. Callers hold the lock.
func (s *Server) handleARM(c *call) *reply {
	if e := s.authorize(c.r); e != nil {
		return errReply(e)
	}
	p := c.p
	if p.sub == "" {
		return errReply(errf(http.StatusNotFound, "NotFound", "No route for %s %s.", c.r.Method, p.raw))
	}
	if !s.hasSubscription(p.sub) {
		return errReply(errf(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", p.sub))
	}
	if isOperationStatus(p) {
		return s.handleOperation(c)
	}
	if c.r.URL.Query().Get("api-version") == "" {
		return errReply(badRequest("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."))
	}
	if p.ns == "" {
		if p.rg != "" && len(strings.Split(strings.Trim(p.raw, "/"), "/")) == 4 {
			return s.handleResourceGroup(c)
		}
		return errReply(errf(http.StatusNotFound, "NotFound", "No route for %s %s.", c.r.Method, p.raw))
	}
	if len(p.types) == 0 && p.rg == "" && listKind(c) == nil {
		return s.handleProvider(c)
	}
	if e := s.registered(p.sub, p.ns); e != nil {
		return errReply(e)
	}
	if e := checkAPIVersion(p.ns, c.r.URL.Query().Get("api-version")); e != nil {
		return errReply(e)
	}
	if p.rg != "" && !s.hasResourceGroup(p.rg) {
		return errReply(errf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", p.rg))
	}
	return s.handleResource(c)
}

// apiVersions are the versions of the pinned SDK modules.
var apiVersions = map[string]string{
	"microsoft.web":             "2023-12-01",
	"microsoft.storage":         "2024-01-01",
	"microsoft.servicebus":      "2021-11-01",
	"microsoft.documentdb":      "2024-05-15",
	"microsoft.managedidentity": "2024-11-30",
	"microsoft.authorization":   "2022-04-01",
	// No arm* module is pinned for these: the driver calls them through azcore.
	"microsoft.insights":            "2020-02-02",
	"microsoft.operationalinsights": "2022-10-01",
}

func checkAPIVersion(ns, v string) *armError {
	want, ok := apiVersions[strings.ToLower(ns)]
	if !ok || v == want {
		return nil
	}
	return badRequest("InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions (in this fake) are '%s'.", v, want)
}

func (s *Server) hasSubscription(sub string) bool {
	for _, x := range s.opts.Subscriptions {
		if strings.EqualFold(x, sub) {
			return true
		}
	}
	return false
}

func (s *Server) hasResourceGroup(rg string) bool {
	for _, x := range s.opts.ResourceGroups {
		if strings.EqualFold(x, rg) {
			return true
		}
	}
	return false
}

func (s *Server) registered(sub, ns string) *armError {
	if s.unregistered[strings.ToLower(sub+"/"+ns)] {
		return errf(http.StatusConflict, "MissingSubscriptionRegistration",
			"The subscription is not registered to use namespace '%s'. See https://aka.ms/rps-not-found for how to register subscriptions.", ns)
	}
	return nil
}

func (s *Server) handleResourceGroup(c *call) *reply {
	p := c.p
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
		return errReply(errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The fake serves only GET and HEAD on resource groups."))
	}
	if !s.hasResourceGroup(p.rg) {
		return errReply(errf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", p.rg))
	}
	if c.r.Method == http.MethodHead {
		return &reply{status: http.StatusNoContent}
	}
	return jsonReply(http.StatusOK, map[string]any{
		"id":         "/subscriptions/" + p.sub + "/resourceGroups/" + p.rg,
		"name":       p.rg,
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   s.opts.Location,
		"properties": map[string]any{"provisioningState": "Succeeded"},
	})
}

// handleProvider serves GET .../providers/<ns> and POST .../providers/<ns>/register.
func (s *Server) handleProvider(c *call) *reply {
	p := c.p
	key := strings.ToLower(p.sub + "/" + p.ns)
	switch {
	case c.r.Method == http.MethodPost && strings.EqualFold(p.action, "register"):
		if s.opts.RegistrationForbidden {
			return errReply(errf(http.StatusForbidden, "AuthorizationFailed",
				"The client does not have authorization to perform action '%s/register/action' over scope '/subscriptions/%s' or the scope is invalid.", p.ns, p.sub))
		}
		delete(s.unregistered, key)
	case c.r.Method == http.MethodGet && p.action == "":
	case c.r.Method == http.MethodPost && strings.EqualFold(p.action, "checkNameAvailability") && strings.EqualFold(p.ns, "Microsoft.Storage"):
		return s.checkStorageName(c)
	default:
		return errReply(errf(http.StatusNotFound, "NotFound", "No route for %s %s.", c.r.Method, p.raw))
	}
	state := "Registered"
	if s.unregistered[key] {
		state = "NotRegistered"
	}
	return jsonReply(http.StatusOK, map[string]any{
		"id":                "/subscriptions/" + p.sub + "/providers/" + p.ns,
		"namespace":         p.ns,
		"registrationState": state,
	})
}

// authorize checks the bearer token. Callers hold the lock.
func (s *Server) authorize(r *http.Request) *armError {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return errf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	}
	if !s.validToken(tok) {
		return errf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
	}
	return nil
}

// issueToken returns a signed token: "azurefake.<payload>.<mac>".
func (s *Server) issueToken() string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"tid":%q,"exp":%d,"n":%d}`, s.opts.Tenant, time.Now().Add(tokenLifetime).Unix(), s.next())))
	return "azurefake." + payload + "." + s.mac(payload)
}

func (s *Server) mac(payload string) string {
	m := hmac.New(sha256.New, tokenKey)
	m.Write([]byte(s.url + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) validToken(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0] != "azurefake" || !hmac.Equal([]byte(parts[2]), []byte(s.mac(parts[1]))) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	return json.Unmarshal(raw, &claims) == nil && time.Now().Unix() < claims.Exp
}

// tenantOf returns the tenant segment of an authority path and whether it is this fake's.
func (s *Server) tenantOf(path string) bool {
	t := strings.Split(strings.Trim(path, "/"), "/")[0]
	return strings.EqualFold(t, s.opts.Tenant) || t == "organizations" || t == "common"
}

// handleToken answers OAuth2 client-credentials requests, as the Microsoft identity platform does.
func (s *Server) handleToken(c *call) *reply {
	oauthErr := func(status int, code, desc string) *reply {
		return jsonReply(status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{0}})
	}
	if c.r.Method != http.MethodPost {
		return oauthErr(http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
	}
	if !s.tenantOf(c.r.URL.Path) {
		return oauthErr(http.StatusBadRequest, "invalid_tenant", "AADSTS90002: Tenant not found.")
	}
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		return oauthErr(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must be form-encoded.")
	}
	if form.Get("grant_type") != "client_credentials" {
		return oauthErr(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The fake supports only the client_credentials grant.")
	}
	if form.Get("client_id") == "" || (form.Get("client_secret") == "" && form.Get("client_assertion") == "") {
		return oauthErr(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain client_id and client_secret.")
	}
	if s.opts.ClientID != "" && (form.Get("client_id") != s.opts.ClientID || form.Get("client_secret") != s.opts.ClientSecret) {
		return oauthErr(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	}
	if form.Get("scope") == "" {
		return oauthErr(http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
	}
	return jsonReply(http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(tokenLifetime.Seconds()) - 1,
		"ext_expires_in": int(tokenLifetime.Seconds()) - 1,
		"access_token":   s.issueToken(),
	})
}

func (s *Server) handleOpenID(c *call) *reply {
	if !s.tenantOf(c.r.URL.Path) {
		return jsonReply(http.StatusBadRequest, map[string]any{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."})
	}
	base := s.url + "/" + s.opts.Tenant
	return jsonReply(http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt"},
		"tenant_region_scope":                   "EU",
	})
}

// handleDiscovery answers instance discovery for the fake's host. MSAL sends it to
// login.microsoftonline.com for an authority it does not trust, so clients disable instance
// discovery instead; it is served for clients that ask the fake.
func (s *Server) handleDiscovery(c *call) *reply {
	host := strings.TrimPrefix(s.url, "https://")
	return jsonReply(http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": s.url + "/" + s.opts.Tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []any{map[string]any{
			"preferred_network": host, "preferred_cache": host, "aliases": []string{host},
		}},
	})
}

// handleSCM serves POST https://<site>.scm.<suffix>/api/publish.
func (s *Server) handleSCM(c *call) *reply {
	if e := s.authorize(c.r); e != nil {
		return jsonReply(e.status, map[string]any{"Message": e.message})
	}
	if c.r.Method != http.MethodPost || !strings.EqualFold(strings.TrimSuffix(c.r.URL.Path, "/"), "/api/publish") {
		return jsonReply(http.StatusNotFound, map[string]any{"Message": "No route: the fake SCM endpoint serves POST /api/publish."})
	}
	host := strings.ToLower(c.r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	name := strings.TrimSuffix(host, ".scm."+strings.ToLower(s.opts.SCMSuffix))
	site := s.st.siteByName(name)
	if site == nil {
		return jsonReply(http.StatusNotFound, map[string]any{"Message": fmt.Sprintf("Site %q not found.", name)})
	}
	if ct := c.r.Header.Get("Content-Type"); !strings.EqualFold(strings.TrimSpace(strings.Split(ct, ";")[0]), "application/zip") {
		return jsonReply(http.StatusUnsupportedMediaType, map[string]any{"Message": fmt.Sprintf("Content-Type %q: want application/zip.", ct)})
	}
	zr, err := zip.NewReader(bytes.NewReader(c.body), int64(len(c.body)))
	if err != nil || len(zr.File) == 0 {
		return jsonReply(http.StatusBadRequest, map[string]any{"Message": "The package is not a readable, non-empty zip archive."})
	}
	site.zip = append([]byte(nil), c.body...)
	site.deploys++
	return jsonReply(http.StatusOK, map[string]any{"id": strconv.Itoa(site.deploys), "status": 4, "complete": true, "message": "Deployment successful."})
}
