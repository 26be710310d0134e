package tlsx

import (
	"crypto"
	"crypto/dsa" //nolint:staticcheck // old certificates still carry DSA keys
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // verifying old self-signed certificates, not trusting them
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vigil-ndr/vigil/internal/event"
)

// certInfo is one certificate of a chain: its fingerprint always, the
// parsed form when crypto/x509 could read it.
type certInfo struct {
	fp   string
	cert *x509.Certificate
}

func newCertInfo(der []byte) certInfo {
	sum := sha256.Sum256(der)
	ci := certInfo{fp: hex.EncodeToString(sum[:])}
	if c, err := x509.ParseCertificate(der); err == nil {
		ci.cert = c
	}
	return ci
}

// x509Event builds the event.X509 record of one certificate.
func x509Event(meta event.Meta, ci certInfo, host bool) *event.X509 {
	ev := &event.X509{Meta: meta, Fingerprint: ci.fp, HostCert: host, ClientCert: !host}
	c := ci.cert
	if c == nil {
		return ev
	}
	ev.Version = c.Version
	if c.SerialNumber != nil {
		s := strings.ToUpper(c.SerialNumber.Text(16))
		if len(s)%2 == 1 {
			s = "0" + s
		}
		ev.Serial = s
	}
	ev.Subject = dnString(c.RawSubject)
	ev.Issuer = dnString(c.RawIssuer)
	ev.NotBefore = c.NotBefore.UTC()
	ev.NotAfter = c.NotAfter.UTC()
	ev.KeyAlg, ev.KeyType, ev.KeyLength = keyInfo(c)
	ev.SigAlg = sigAlgName(c)
	ev.SANDNS = c.DNSNames
	for _, ip := range c.IPAddresses {
		ev.SANIP = append(ev.SANIP, ip.String())
	}
	ev.BasicCA = c.BasicConstraintsValid && c.IsCA
	ev.SelfSigned = selfSigned(c)
	return ev
}

// keyInfo names the public key as Zeek's x509.log does (OpenSSL's names).
func keyInfo(c *x509.Certificate) (alg, typ string, bits int) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "rsaEncryption", "rsa", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "id-ecPublicKey", "ecdsa", k.Curve.Params().BitSize
	case *dsa.PublicKey:
		return "dsaEncryption", "dsa", k.P.BitLen()
	case ed25519.PublicKey:
		return "ED25519", "", 256
	}
	return "", "", 0
}

// sigAlgName names the signature algorithm with OpenSSL's long names.
func sigAlgName(c *x509.Certificate) string {
	switch c.SignatureAlgorithm {
	case x509.MD2WithRSA:
		return "md2WithRSAEncryption"
	case x509.MD5WithRSA:
		return "md5WithRSAEncryption"
	case x509.SHA1WithRSA:
		return "sha1WithRSAEncryption"
	case x509.SHA256WithRSA:
		return "sha256WithRSAEncryption"
	case x509.SHA384WithRSA:
		return "sha384WithRSAEncryption"
	case x509.SHA512WithRSA:
		return "sha512WithRSAEncryption"
	case x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return "rsassaPss"
	case x509.DSAWithSHA1:
		return "dsaWithSHA1"
	case x509.DSAWithSHA256:
		return "dsa_with_SHA256"
	case x509.ECDSAWithSHA1:
		return "ecdsa-with-SHA1"
	case x509.ECDSAWithSHA256:
		return "ecdsa-with-SHA256"
	case x509.ECDSAWithSHA384:
		return "ecdsa-with-SHA384"
	case x509.ECDSAWithSHA512:
		return "ecdsa-with-SHA512"
	case x509.PureEd25519:
		return "ED25519"
	}
	return ""
}

// selfSigned reports whether the issuer equals the subject and the
// certificate's signature verifies with its own public key. SHA-1
// signatures, which crypto/x509 refuses, are checked by hand: an old
// self-signed certificate is still self-signed.
func selfSigned(c *x509.Certificate) bool {
	if string(c.RawIssuer) != string(c.RawSubject) {
		return false
	}
	err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
	if err == nil {
		return true
	}
	var insecure x509.InsecureAlgorithmError
	if !errors.As(err, &insecure) {
		return false
	}
	sum := sha1.Sum(c.RawTBSCertificate) //nolint:gosec // see above
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA:
		k, ok := c.PublicKey.(*rsa.PublicKey)
		return ok && rsa.VerifyPKCS1v15(k, crypto.SHA1, sum[:], c.Signature) == nil
	case x509.ECDSAWithSHA1:
		k, ok := c.PublicKey.(*ecdsa.PublicKey)
		return ok && ecdsa.VerifyASN1(k, sum[:], c.Signature)
	}
	return false
}

// attrNames are OpenSSL's short names for the attribute types that
// appear in certificate names, as Zeek prints them.
var attrNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.15":                   "businessCategory",
	"2.5.4.17":                   "postalCode",
	"2.5.4.42":                   "GN",
	"2.5.4.97":                   "organizationIdentifier",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "emailAddress",
	"1.3.6.1.4.1.311.60.2.1.1":   "jurisdictionL",
	"1.3.6.1.4.1.311.60.2.1.2":   "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3":   "jurisdictionC",
}

// dnString formats a DER-encoded name the way Zeek does (OpenSSL's
// X509_NAME_print_ex with XN_FLAG_RFC2253): most specific attribute
// first, "TYPE=value" joined by ',' (and '+' inside one RDN), special
// characters escaped with a backslash.
func dnString(raw []byte) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) > 0 {
		return ""
	}
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i != len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, atv := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			oid := atv.Type.String()
			name, ok := attrNames[oid]
			if !ok {
				name = oid
			}
			b.WriteString(name)
			b.WriteByte('=')
			switch v := atv.Value.(type) {
			case string:
				escapeDN(&b, v)
			default:
				der, err := asn1.Marshal(v)
				if err != nil {
					continue
				}
				b.WriteByte('#')
				b.WriteString(strings.ToUpper(hex.EncodeToString(der)))
			}
		}
	}
	return b.String()
}

// escapeDN escapes an attribute value per RFC 2253; control and invalid
// bytes become \XX.
func escapeDN(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case r == utf8.RuneError && size <= 1, c < 0x20 || c == 0x7f:
			fmt.Fprintf(b, "\\%02X", c)
		case c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';',
			c == '#' && i == 0,
			c == ' ' && (i == 0 || i == len(s)-1):
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}
