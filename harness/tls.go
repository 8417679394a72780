package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net"
	"slices"
	"sync"
	"time"
)

// PKIDir is where certificates live inside a member: the kubeadm layout.
const PKIDir = "/etc/kubernetes/pki/etcd"

// The file names kubeadm uses, which seed 004's commands refer to.
const (
	CACert     = PKIDir + "/ca.crt"
	ClientCert = PKIDir + "/healthcheck-client.crt"
	ClientKey  = PKIDir + "/healthcheck-client.key"
)

// PKI is the certificate material of one run: a CA, per-member server and
// peer certificates, and one client certificate for etcdctl and the harness.
// Its methods are safe for concurrent use.
type PKI struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	CAPEM  []byte
	// Client is the client certificate and key (PEM) that etcdctl and the
	// harness present; --client-cert-auth makes the members require it.
	ClientCertPEM, ClientKeyPEM []byte
	// hosts are the extra names and addresses of server certificates.
	hosts []string

	mu      sync.Mutex
	members map[string]map[string][]byte // MemberFiles by member name
}

// NewPKI makes a CA and a client certificate valid for one day. hosts are
// host names or IP literals that the members' server certificates are
// valid for besides each member's name, localhost and 127.0.0.1: where
// the harness dials the published client ports, when the engine is
// remote.
func NewPKI(hosts ...string) (*PKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "etcd-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("ca cert: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca cert: %w", err)
	}
	p := &PKI{caCert: cert, caKey: key, CAPEM: pemBlock("CERTIFICATE", der), hosts: hosts, members: map[string]map[string][]byte{}}
	p.ClientCertPEM, p.ClientKeyPEM, err = p.issue("kube-etcd-healthcheck-client", nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// MemberFiles returns the files for member name, keyed by path inside the
// container: the CA, server and peer pairs valid for the name, localhost
// and 127.0.0.1 (the server pair also for NewPKI's hosts), and the client
// pair. They are issued on the first call for a name, and the same files
// are returned after, so that every container of a member presents the
// same certificates and re-creating a member signs nothing.
func (p *PKI) MemberFiles(name string) (map[string][]byte, error) {
	p.mu.Lock()
	files, ok := p.members[name]
	p.mu.Unlock()
	if ok {
		return maps.Clone(files), nil
	}
	files = map[string][]byte{CACert: p.CAPEM, ClientCert: p.ClientCertPEM, ClientKey: p.ClientKeyPEM}
	local := []string{name, "localhost", "127.0.0.1"}
	for _, kind := range []struct {
		name string
		sans []string
	}{
		{"server", append(slices.Clone(local), p.hosts...)},
		{"peer", local},
	} {
		c, k, err := p.issue(name, kind.sans, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
		if err != nil {
			return nil, fmt.Errorf("%s cert for %s: %w", kind.name, name, err)
		}
		files[PKIDir+"/"+kind.name+".crt"], files[PKIDir+"/"+kind.name+".key"] = c, k
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.members[name]; ok { // issued concurrently: the first wins
		return maps.Clone(prev), nil
	}
	p.members[name] = files
	return maps.Clone(files), nil
}

// ClientTLS is the TLS configuration the harness dials members with.
func (p *PKI) ClientTLS() (*tls.Config, error) {
	pair, err := tls.X509KeyPair(p.ClientCertPEM, p.ClientKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("client key pair: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// issue signs a certificate for cn valid for sans, each a host name or an
// IP literal.
func (p *PKI) issue(cn string, sans []string, usage ...x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usage,
	}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if !slices.Contains(tmpl.DNSNames, s) {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", kder), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
