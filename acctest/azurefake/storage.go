package azurefake

import (
	"net/http"
	"slices"
	"strings"
)

const (
	typeStorageAccounts = "Microsoft.Storage/storageAccounts"
	typeContainers      = "Microsoft.Storage/storageAccounts/blobServices/containers"
)

var (
	storageSKUs  = []string{"Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS", "Premium_LRS", "Premium_ZRS"}
	storageKinds = []string{"Storage", "StorageV2", "BlobStorage", "BlockBlobStorage", "FileStorage"}
	tlsVersions  = []string{"TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"}
)

func init() {
	register(&kind{
		typ: typeStorageAccounts, tracked: true, global: true, lroPut: true,
		createStatus: http.StatusAccepted, updateStatus: http.StatusAccepted, patch: true,
		nameRule: func(name string) *armError {
			if !storageNamePattern.MatchString(name) {
				return badRequest("AccountNameInvalid", "%s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", name)
			}
			return nil
		},
		taken: func(name string) *armError {
			return errf(http.StatusConflict, "StorageAccountAlreadyTaken", "The storage account named %s is already taken.", name)
		},
		validate: validateStorageAccount,
		render: func(s *Server, r *resource, out map[string]any) {
			props := obj(out, "properties")
			props["primaryEndpoints"] = map[string]any{
				"blob":  "https://" + r.name + ".blob.core.windows.net/",
				"queue": "https://" + r.name + ".queue.core.windows.net/",
				"table": "https://" + r.name + ".table.core.windows.net/",
				"file":  "https://" + r.name + ".file.core.windows.net/",
			}
			props["statusOfPrimary"] = "available"
		},
	})
	register(&kind{
		typ: typeContainers, implicitParent: true, createStatus: http.StatusCreated, patch: true,
		nameRule: func(name string) *armError {
			if len(name) < 3 || len(name) > 63 || !containerNamePattern.MatchString(name) {
				return badRequest("ContainerOperationFailure", "The specified resource name %q is invalid: container names are 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.", name)
			}
			return nil
		},
		validate: func(s *Server, c *call, body map[string]any, _ *resource) *armError {
			if strings.ToLower(c.p.names[1]) != "default" {
				return errf(http.StatusNotFound, "ResourceNotFound", "The blob service %q does not exist: only 'default'.", c.p.names[1])
			}
			account := s.st.get(parentID(c.p, kinds[strings.ToLower(typeContainers)]))
			allowed := false
			if account != nil {
				allowed, _ = boolean(account.body, "properties", "allowBlobPublicAccess")
			}
			if a := str(body, "properties", "publicAccess"); a != "" && a != "None" && !allowed {
				return errf(http.StatusConflict, "PublicAccessNotPermitted", "Public access is not permitted on this storage account.")
			}
			setDefault(body, "None", "properties", "publicAccess")
			return nil
		},
	})
}

func validateStorageAccount(_ *Server, _ *call, body map[string]any, old *resource) *armError {
	sku := str(body, "sku", "name")
	kind := str(body, "kind")
	if old == nil || sku != "" {
		if !slices.Contains(storageSKUs, sku) {
			return badRequest("InvalidValuesForRequestParameters", "Values for request parameters are invalid: sku.name %q (one of %s).", sku, strings.Join(storageSKUs, ", "))
		}
	}
	if old == nil || kind != "" {
		if !slices.Contains(storageKinds, kind) {
			return badRequest("InvalidValuesForRequestParameters", "Values for request parameters are invalid: kind %q (one of %s).", kind, strings.Join(storageKinds, ", "))
		}
	}
	if old != nil {
		if k := str(old.body, "kind"); kind != "" && k != kind && (k != "Storage" || kind != "StorageV2") {
			return badRequest("InvalidValuesForRequestParameters", "The kind of a storage account cannot change from %s to %s.", k, kind)
		}
	}
	if v := str(body, "properties", "minimumTlsVersion"); v != "" && !slices.Contains(tlsVersions, v) {
		return badRequest("InvalidValuesForRequestParameters", "Values for request parameters are invalid: minimumTlsVersion %q (one of %s).", v, strings.Join(tlsVersions, ", "))
	}
	for _, f := range []string{"allowSharedKeyAccess", "supportsHttpsTrafficOnly", "allowBlobPublicAccess"} {
		if v, ok := field(body, "properties", f); ok {
			if _, isBool := v.(bool); !isBool {
				return badRequest("InvalidRequestContent", "properties.%s must be a boolean.", f)
			}
		}
	}
	setDefault(body, "TLS1_0", "properties", "minimumTlsVersion")
	setDefault(body, true, "properties", "supportsHttpsTrafficOnly")
	setDefault(body, true, "properties", "allowSharedKeyAccess")
	setDefault(body, false, "properties", "allowBlobPublicAccess")
	setDefault(body, "Hot", "properties", "accessTier")
	return nil
}

// checkStorageName serves POST .../providers/Microsoft.Storage/checkNameAvailability.
func (s *Server) checkStorageName(c *call) *reply {
	body, e := c.decode()
	if e != nil {
		return errReply(e)
	}
	name := str(body, "name")
	if !storageNamePattern.MatchString(name) {
		return jsonReply(http.StatusOK, map[string]any{"nameAvailable": false, "reason": "AccountNameInvalid",
			"message": name + " is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."})
	}
	for _, r := range s.st.res {
		if strings.EqualFold(r.typ, typeStorageAccounts) && strings.EqualFold(r.name, name) {
			return jsonReply(http.StatusOK, map[string]any{"nameAvailable": false, "reason": "AlreadyExists",
				"message": "The storage account named " + name + " is already taken."})
		}
	}
	return jsonReply(http.StatusOK, map[string]any{"nameAvailable": true})
}
