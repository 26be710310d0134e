package pcapgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"time"
)

// Certificates here are deterministic: keys are ECDSA P-256 scalars
// derived from a label, serials are hashes, and signatures use RFC 6979
// (crypto/ecdsa with a nil random source), so the same arguments give the
// same DER on every run and Go version. They are for synthetic captures
// only: anyone can derive the keys.

// detKey derives an ECDSA P-256 key from label.
func detKey(label string) (*ecdsa.PrivateKey, error) {
	h := sha256.Sum256([]byte("pcapgen key " + label))
	for range 16 {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), h[:])
		if err == nil {
			return k, nil
		}
		h = sha256.Sum256(h[:]) // out of range (about 2^-32 odds): rehash
	}
	return nil, fmt.Errorf("derive key for %q: no valid scalar", label)
}

// rfc6979Signer signs deterministically, ignoring the random source it is
// given: TLS and x509 pass one, and since Go 1.26 the ECDSA code would
// otherwise use fresh system randomness whatever it was.
type rfc6979Signer struct{ k *ecdsa.PrivateKey }

func (s rfc6979Signer) Public() crypto.PublicKey { return s.k.Public() }

func (s rfc6979Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.k.Sign(nil, digest, opts)
}

func serial(label string) *big.Int {
	h := sha256.Sum256([]byte("pcapgen serial " + label))
	h[0] &= 0x7f // positive, as RFC 5280 asks
	return new(big.Int).SetBytes(h[:16])
}

// CA is a deterministic test certificate authority.
type CA struct {
	cert *x509.Certificate
	der  []byte
	key  rfc6979Signer
}

// NewCA makes a CA named name (its subject organisation and common name),
// valid for ten years from notBefore. The same arguments give the same CA.
func NewCA(org, commonName string, notBefore time.Time) (*CA, error) {
	k, err := detKey("ca " + org + "/" + commonName)
	if err != nil {
		return nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber:          serial("ca " + commonName),
		Subject:               pkix.Name{Country: []string{"US"}, Organization: []string{org}, CommonName: commonName},
		NotBefore:             notBefore.UTC(),
		NotAfter:              notBefore.UTC().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	s := rfc6979Signer{k}
	der, err := x509.CreateCertificate(nil, tpl, tpl, k.Public(), s)
	if err != nil {
		return nil, fmt.Errorf("create ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse ca certificate: %w", err)
	}
	return &CA{cert: cert, der: der, key: s}, nil
}

// Pool returns a pool holding the CA, for a client's RootCAs.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Certificate returns the CA's own certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Issue makes a server certificate for names (DNS names or IP addresses;
// the first is also the common name), valid for 90 days from notBefore,
// with the chain [leaf, CA] as a server sends it.
func (ca *CA) Issue(names []string, notBefore time.Time) (tls.Certificate, error) {
	return makeLeaf(names, notBefore, 90*24*time.Hour, ca.cert, ca.key, ca.der)
}

// SelfSigned makes a self-signed server certificate for names, valid for
// one year from notBefore: what default installs of C2 frameworks,
// appliances and lab servers present.
func SelfSigned(names []string, notBefore time.Time) (tls.Certificate, error) {
	return makeLeaf(names, notBefore, 365*24*time.Hour, nil, rfc6979Signer{}, nil)
}

func makeLeaf(names []string, notBefore time.Time, life time.Duration, parent *x509.Certificate, parentKey rfc6979Signer, parentDER []byte) (tls.Certificate, error) {
	if len(names) == 0 {
		return tls.Certificate{}, fmt.Errorf("certificate needs at least one name")
	}
	label := fmt.Sprint(names, notBefore.Unix(), parent != nil)
	k, err := detKey("leaf " + label)
	if err != nil {
		return tls.Certificate{}, err
	}
	tpl := &x509.Certificate{
		SerialNumber: serial("leaf " + label),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    notBefore.UTC(),
		NotAfter:     notBefore.UTC().Add(life),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip, err := netip.ParseAddr(n); err == nil {
			tpl.IPAddresses = append(tpl.IPAddresses, ip.AsSlice())
		} else {
			tpl.DNSNames = append(tpl.DNSNames, n)
		}
	}
	self := rfc6979Signer{k}
	if parent == nil {
		parent, parentKey = tpl, self
		tpl.BasicConstraintsValid = true
	}
	der, err := x509.CreateCertificate(nil, tpl, parent, k.Public(), parentKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate for %s: %w", names[0], err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse certificate for %s: %w", names[0], err)
	}
	chain := [][]byte{der}
	if parentDER != nil {
		chain = append(chain, parentDER)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: self, Leaf: leaf}, nil
}
