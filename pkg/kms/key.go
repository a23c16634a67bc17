package kms

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/network"
)

// Cloud is a KMS, named by its URI scheme.
type Cloud string

// The KMSs a key URI may name.
const (
	Azure Cloud = "azurekms"
	AWS   Cloud = "awskms"
	GCP   Cloud = "gcpkms"
)

// Key is a key in a KMS, parsed from its URI. It is a reference, not a
// secret: it may be written in a workflow and shown in a plan.
type Key struct {
	Cloud Cloud
	// URI is the key as given.
	URI string

	// Azure Key Vault (or Managed HSM): the vault's URL (https://host),
	// the key's name and version ("" for the current one).
	VaultURL, Name, Version string

	// AWS KMS: the key as KMS's KeyId takes it (key ID, alias/name, key or
	// alias ARN), the region an ARN names ("" otherwise), and the endpoint
	// the URI names ("" for the region's).
	KeyID, Region, Endpoint string

	// Google Cloud KMS: the key version's resource name
	// (projects/…/cryptoKeyVersions/…).
	Resource string
}

// String is the URI.
func (k Key) String() string { return k.URI }

// Forms lists the URI forms, for help and errors.
const Forms = "azurekms://<vault>.vault.azure.net/<key>[/<version>], awskms://[<endpoint>]/<key id | alias/<name> | key ARN> or gcpkms://projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>/cryptoKeyVersions/<v>"

var (
	// Key Vault object names: 1-127 letters, digits and dashes; versions
	// are 32 hex digits.
	azNameRE    = regexp.MustCompile(`^[0-9A-Za-z-]{1,127}$`)
	azVersionRE = regexp.MustCompile(`^[0-9A-Fa-f]{32}$`)
	// Key Vault and Managed HSM DNS names, in every Azure cloud.
	azHostRE = regexp.MustCompile(`^[0-9A-Za-z-]{3,24}\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|vault\.microsoftazure\.de|managedhsm\.azure\.net|managedhsm\.azure\.cn|managedhsm\.usgovcloudapi\.net)$`)

	// AWS KMS key identifiers (KeyId in the KMS API reference).
	awsKeyIDRE = regexp.MustCompile(`^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
	awsAliasRE = regexp.MustCompile(`^alias/[A-Za-z0-9/_-]{1,250}$`)
	awsHostRE  = regexp.MustCompile(`^[0-9a-z.-]+\.(amazonaws\.com|amazonaws\.com\.cn|api\.aws)(:[0-9]{1,5})?$`)
	awsARNRE   = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):([0-9]{12}):(?:key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})|alias/[A-Za-z0-9/_-]{1,250})$`)

	// Google Cloud KMS resource IDs: letters, digits, _ and -; a version
	// is a number.
	gcpRE = regexp.MustCompile(`^projects/([a-z][a-z0-9.:-]{4,61}[a-z0-9]|[0-9]{1,20})/locations/([a-z0-9-]{1,63})/keyRings/([A-Za-z0-9_-]{1,63})/cryptoKeys/([A-Za-z0-9_-]{1,63})/cryptoKeyVersions/([0-9]{1,20})$`)
)

// ParseKey parses a key URI in the forms cosign and other supply-chain tools
// use. Errors say what is wrong and show the right form; they never quote
// more than the URI, which is not a secret.
func ParseKey(uri string) (Key, error) {
	uri = strings.TrimSpace(uri)
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return Key{}, fmt.Errorf("%q is not a KMS key URI; use %s", uri, Forms)
	}
	if strings.ContainsAny(uri, " \t\r\n?#") {
		return Key{}, fmt.Errorf("%q holds spaces, a query or a fragment; use %s", uri, Forms)
	}
	k := Key{Cloud: Cloud(strings.ToLower(scheme)), URI: uri}
	var err error
	switch k.Cloud {
	case Azure:
		err = k.parseAzure(rest)
	case AWS:
		err = k.parseAWS(rest)
	case GCP:
		err = k.parseGCP(rest)
	default:
		return Key{}, fmt.Errorf("%q names no KMS jobtoken signs with (%s://); use %s", uri, scheme, Forms)
	}
	if err != nil {
		return Key{}, fmt.Errorf("%q %w", uri, err)
	}
	return k, nil
}

func (k *Key) parseAzure(rest string) error {
	const form = "azurekms://<vault>.vault.azure.net/<key>[/<version>]"
	host, path, _ := strings.Cut(rest, "/")
	parts := strings.Split(path, "/")
	if path == "" || len(parts) > 2 || (len(parts) == 2 && parts[1] == "") {
		return fmt.Errorf("is not an Azure Key Vault key; use %s", form)
	}
	if strings.Contains(host, "@") {
		return errors.New("holds credentials (user@host); name the vault only")
	}
	if err := hostOK(host, azHostRE.MatchString(strings.ToLower(host))); err != nil {
		return fmt.Errorf("%w; use %s (a Managed HSM's host is <name>.managedhsm.azure.net)", err, form)
	}
	if !azNameRE.MatchString(parts[0]) {
		return fmt.Errorf("names key %q, which is not a Key Vault key name (letters, digits and dashes); use %s", parts[0], form)
	}
	k.VaultURL, k.Name = "https://"+strings.ToLower(host), parts[0]
	if len(parts) == 2 {
		if !azVersionRE.MatchString(parts[1]) {
			return fmt.Errorf("names version %q, which is not a Key Vault key version (32 hex digits); leave it out for the key's current version", parts[1])
		}
		k.Version = parts[1]
	}
	return nil
}

func (k *Key) parseAWS(rest string) error {
	const form = "awskms:///alias/<name>, awskms:///<key id>, awskms:///arn:aws:kms:<region>:<account>:key/<key id> or awskms://<endpoint>/…"
	host, id, ok := strings.Cut(rest, "/")
	if !ok || id == "" {
		return fmt.Errorf("names no key; use %s", form)
	}
	if host != "" {
		if strings.Contains(host, "@") {
			return errors.New("holds credentials (user@host); name the endpoint only")
		}
		// The request is signed with the role's credentials and carries its
		// session token: it goes to AWS (a FIPS or VPC endpoint too) or to
		// this machine (LocalStack, tests), never to a host a file chose.
		if err := hostOK(host, awsHostRE.MatchString(strings.ToLower(host))); err != nil {
			return fmt.Errorf("%s; use %s", strings.Replace(err.Error(), "not a Key Vault or Managed HSM host", "not an AWS endpoint (*.amazonaws.com) or this machine", 1), form)
		}
		k.Endpoint = "https://" + host
		if h, _, err := net.SplitHostPort(host); (err == nil && network.Loopback(h)) || network.Loopback(host) {
			// A local KMS (LocalStack, a test server) may speak plain http;
			// nothing leaves this machine.
			k.Endpoint = "http://" + host
		}
	}
	switch {
	case awsKeyIDRE.MatchString(id), awsAliasRE.MatchString(id):
	case awsARNRE.MatchString(id):
		k.Region = awsARNRE.FindStringSubmatch(id)[1]
	case strings.HasPrefix(id, "alias/aws/"):
	default:
		return fmt.Errorf("names %q, which is not a KMS key ID, alias/<name> or key ARN; use %s", id, form)
	}
	if strings.HasPrefix(id, "alias/aws/") {
		return errors.New("names an AWS managed key (alias/aws/…), which is symmetric and cannot sign; import the App's key as an RSA_2048 SIGN_VERIFY key and name its alias")
	}
	k.KeyID = id
	return nil
}

func (k *Key) parseGCP(rest string) error {
	const form = "gcpkms://projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>/cryptoKeyVersions/<version>"
	if !gcpRE.MatchString(rest) {
		if strings.Contains(rest, "/cryptoKeys/") && !strings.Contains(rest, "/cryptoKeyVersions/") {
			return fmt.Errorf("names no key version; asymmetric Cloud KMS keys sign with a version: use %s", form)
		}
		return fmt.Errorf("is not a Cloud KMS key version; use %s", form)
	}
	k.Resource = rest
	return nil
}

// hostOK checks a host[:port] from a URI: a DNS name (known is whether it
// is one of the cloud's) or a loopback address, for test servers.
func hostOK(hostport string, known bool) error {
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	u, err := url.Parse("https://" + hostport + "/")
	switch {
	case host == "":
		return errors.New("names no host")
	case err != nil || u.Host != hostport || strings.ContainsAny(host, "%[]\\"):
		return fmt.Errorf("names host %q, which is not a host name", hostport)
	case network.Loopback(host):
		return nil
	case port != "" && !known:
		return fmt.Errorf("names host %q with a port", hostport)
	case !known:
		return fmt.Errorf("names host %q, which is not a Key Vault or Managed HSM host", host)
	}
	return nil
}
