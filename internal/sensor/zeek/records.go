package zeek

import (
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
)

// rec is the record being built: one typed event, and its Meta.
type rec struct {
	meta  *event.Meta
	c     *event.Conn
	h     *event.HTTP
	t     *event.TLS
	x     *event.X509
	d     *event.DNS
	dh    *event.DHCP
	fuid  string   // x509: id
	fuids []string // ssl: cert_chain_fuids and client_cert_chain_fuids
}

func (p *Parser) begin(r *rec) {
	switch p.typ {
	case logConn:
		r.c = &event.Conn{}
		r.meta = &r.c.Meta
	case logHTTP:
		r.h = &event.HTTP{}
		r.meta = &r.h.Meta
	case logSSL:
		r.t = &event.TLS{}
		r.meta = &r.t.Meta
	case logX509:
		r.x = &event.X509{}
		r.meta = &r.x.Meta
	case logDNS:
		r.d = &event.DNS{}
		r.meta = &r.d.Meta
	case logDHCP:
		r.dh = &event.DHCP{}
		r.meta = &r.dh.Meta
	}
	p.leafKey, p.validation, p.origMime, p.respMime, p.certKey = "", "", "", "", ""
}

func (p *Parser) set(r *rec, id int, v *value) error {
	var err error
	m := r.meta
	switch id {
	case fTS:
		m.TS, err = parseTime(v.raw)
		return err
	case fUID:
		m.UID = p.str(*v)
		return nil
	case fOrigH:
		m.ID.OrigH, err = parseAddr(v.raw)
		return err
	case fOrigP:
		m.ID.OrigP, err = port(v.raw)
		return err
	case fRespH:
		m.ID.RespH, err = parseAddr(v.raw)
		return err
	case fRespP:
		m.ID.RespP, err = port(v.raw)
		return err
	}
	switch {
	case r.c != nil:
		return p.setConn(r.c, id, v)
	case r.h != nil:
		return p.setHTTP(r.h, id, v)
	case r.t != nil:
		return p.setTLS(r, id, v)
	case r.x != nil:
		return p.setX509(r, id, v)
	case r.d != nil:
		return p.setDNS(r.d, id, v)
	case r.dh != nil:
		return p.setDHCP(r.dh, id, v)
	}
	return nil
}

func port(b []byte) (uint16, error) {
	n, err := parseUint(b, 65535)
	return uint16(n), err
}

func count(b []byte) (int64, error) {
	n, err := parseUint(b, 1<<63-1)
	return int64(n), err
}

func (p *Parser) setConn(c *event.Conn, id int, v *value) error {
	var err error
	switch id {
	case fProto:
		c.Proto = event.ParseProto(string(v.raw))
	case fService:
		c.Service = p.istr(*v)
	case fDuration:
		c.Duration, err = parseInterval(v.raw)
	case fOrigBytes:
		c.OrigBytes, err = count(v.raw)
	case fRespBytes:
		c.RespBytes, err = count(v.raw)
	case fConnState:
		c.ConnState = connState(p, v)
	case fMissedBytes:
		c.MissedBytes, err = count(v.raw)
	case fHistory:
		c.History = p.istr(*v)
	case fOrigPkts:
		c.OrigPkts, err = count(v.raw)
	case fOrigIPBytes:
		c.OrigIPBytes, err = count(v.raw)
	case fRespPkts:
		c.RespPkts, err = count(v.raw)
	case fRespIPBytes:
		c.RespIPBytes, err = count(v.raw)
	case fOrigL2:
		c.OrigL2Addr = p.istr(*v)
	case fRespL2:
		c.RespL2Addr = p.istr(*v)
	case fVLAN:
		var n uint64
		n, err = parseUint(v.raw, 65535)
		c.VLAN = uint16(n)
	}
	return err
}

func (p *Parser) setHTTP(h *event.HTTP, id int, v *value) error {
	var err error
	switch id {
	case fTransDepth:
		var n uint64
		n, err = parseUint(v.raw, 1<<31-1)
		h.TransDepth = int(n)
	case fMethod:
		h.Method = p.istr(*v)
	case fHost:
		h.Host = p.istr(*v)
	case fURI:
		h.URI = p.str(*v)
	case fReferrer:
		h.Referrer = p.istr(*v)
	case fVersion:
		h.Version = p.istr(*v)
	case fUserAgent:
		h.UserAgent = p.istr(*v)
	case fOrigin:
		h.Origin = p.istr(*v)
	case fReqBodyLen:
		h.RequestBodyLen, err = count(v.raw)
	case fRespBodyLen:
		h.ResponseBodyLen, err = count(v.raw)
	case fStatusCode:
		var n uint64
		n, err = parseUint(v.raw, 1<<31-1)
		h.StatusCode = int(n)
	case fStatusMsg:
		h.StatusMsg = p.istr(*v)
	case fOrigMime:
		p.origMime = p.first(*v)
	case fRespMime:
		p.respMime = p.first(*v)
	case fReqCT:
		h.ReqContentType = p.istr(*v)
	case fRespCT:
		h.RespContentType = p.istr(*v)
	case fProxied:
		h.Proxied = p.strs(*v)
	}
	return err
}

func (p *Parser) setTLS(r *rec, id int, v *value) error {
	t := r.t
	var err error
	switch id {
	case fVersion:
		t.Version = p.istr(*v)
	case fCipher:
		t.Cipher = p.istr(*v)
	case fCurve:
		t.Curve = p.istr(*v)
	case fServerName:
		t.ServerName = p.istr(*v)
	case fResumed:
		t.Resumed, err = parseBool(v.raw)
	case fEstablished:
		t.Established, err = parseBool(v.raw)
	case fNextProto:
		t.NextProtocol = p.istr(*v)
	case fCertFps:
		t.CertChainFps = p.strs(*v)
	case fClientCertFps:
		t.ClientCertChainFps = p.strs(*v)
	case fCertFuids:
		l := p.strs(*v)
		if len(l) > 0 {
			r.fuid = l[0]
		}
		r.fuids = append(r.fuids, l...)
	case fClientCertFuids:
		r.fuids = append(r.fuids, p.strs(*v)...)
	case fSubject:
		t.Subject = p.str(*v)
	case fIssuer:
		t.Issuer = p.str(*v)
	case fJA3:
		t.JA3 = p.istr(*v)
	case fJA3S:
		t.JA3S = p.istr(*v)
	case fJA4:
		t.JA4 = p.istr(*v)
	case fSNIMatches:
		var b bool
		b, err = parseBool(v.raw)
		t.SNIMatchesCert = &b
	case fValidation:
		p.validation = p.istr(*v)
	case fSelfSigned:
		t.SelfSigned, err = parseBool(v.raw)
	case fCertsEnc:
		t.CertsEncrypted, err = parseBool(v.raw)
	case fALPN:
		t.ALPN = p.strs(*v)
	case fNotBefore:
		t.NotBefore, err = parseTime(v.raw)
	case fNotAfter:
		t.NotAfter, err = parseTime(v.raw)
	}
	return err
}

func (p *Parser) setX509(r *rec, id int, v *value) error {
	x := r.x
	var err error
	switch id {
	case fFingerprint:
		x.Fingerprint = p.str(*v)
	case fFUID:
		r.fuid = p.str(*v)
	case fCertVersion:
		var n uint64
		n, err = parseUint(v.raw, 1<<31-1)
		x.Version = int(n)
	case fSerial:
		x.Serial = p.str(*v)
	case fCertSubject:
		x.Subject = p.str(*v)
	case fCertIssuer:
		x.Issuer = p.istr(*v)
	case fCertNotBefore:
		x.NotBefore, err = parseTime(v.raw)
	case fCertNotAfter:
		x.NotAfter, err = parseTime(v.raw)
	case fKeyAlg:
		x.KeyAlg = p.istr(*v)
	case fSigAlg:
		x.SigAlg = p.istr(*v)
	case fKeyType:
		x.KeyType = p.istr(*v)
	case fKeyLength:
		var n uint64
		n, err = parseUint(v.raw, 1<<31-1)
		x.KeyLength = int(n)
	case fSANDNS:
		x.SANDNS = p.strs(*v)
	case fSANIP:
		x.SANIP = p.strs(*v)
	case fBasicCA:
		x.BasicCA, err = parseBool(v.raw)
	case fHostCert:
		x.HostCert, err = parseBool(v.raw)
	case fClientCert:
		x.ClientCert, err = parseBool(v.raw)
	case fSelfSigned:
		x.SelfSigned, err = parseBool(v.raw)
	}
	return err
}

func (p *Parser) setDNS(d *event.DNS, id int, v *value) error {
	var err error
	var n uint64
	switch id {
	case fProto:
		d.Proto = event.ParseProto(string(v.raw))
	case fTransID:
		n, err = parseUint(v.raw, 65535)
		d.TransID = uint16(n)
	case fRTT:
		d.RTT, err = parseInterval(v.raw)
	case fQuery:
		d.Query = p.str(*v)
	case fQClass:
		n, err = parseUint(v.raw, 65535)
		d.QClass = uint16(n)
	case fQType:
		n, err = parseUint(v.raw, 65535)
		d.QType = uint16(n)
	case fQTypeName:
		d.QTypeName = p.istr(*v)
	case fRCode:
		n, err = parseUint(v.raw, 65535)
		d.RCode = uint16(n)
		d.HasReply = err == nil
	case fRCodeName:
		d.RCodeName = p.istr(*v)
	case fAA:
		d.AA, err = parseBool(v.raw)
	case fTC:
		d.TC, err = parseBool(v.raw)
	case fRD:
		d.RD, err = parseBool(v.raw)
	case fRA:
		d.RA, err = parseBool(v.raw)
	case fAnswers:
		d.Answers = p.strs(*v)
	case fTTLs:
		l := p.strs(*v)
		if len(l) == 0 {
			return nil
		}
		d.TTLs = make([]time.Duration, len(l))
		for i, s := range l {
			if d.TTLs[i], err = parseInterval([]byte(s)); err != nil {
				return err
			}
		}
	case fRejected:
		d.Rejected, err = parseBool(v.raw)
	}
	return err
}

func (p *Parser) setDHCP(d *event.DHCP, id int, v *value) error {
	var err error
	switch id {
	case fUIDs:
		d.UIDs = p.strs(*v)
	case fClientAddr:
		d.ClientAddr, err = parseAddr(v.raw)
	case fServerAddr:
		d.ServerAddr, err = parseAddr(v.raw)
	case fMAC:
		d.MAC = p.istr(*v)
	case fHostName:
		d.HostName = p.istr(*v)
	case fClientFQDN:
		d.ClientFQDN = p.istr(*v)
	case fDomain:
		d.Domain = p.istr(*v)
	case fRequestedAddr:
		d.RequestedAddr, err = parseAddr(v.raw)
	case fAssignedAddr:
		d.AssignedAddr, err = parseAddr(v.raw)
	case fLeaseTime:
		d.LeaseTime, err = parseInterval(v.raw)
	case fMsgTypes:
		d.MsgTypes = p.strs(*v)
	case fDuration:
		d.Duration, err = parseInterval(v.raw)
	}
	return err
}

// finish resolves what depends on several fields and returns the event.
func (p *Parser) finish(r *rec) event.Event {
	switch {
	case r.c != nil:
		return r.c
	case r.h != nil:
		if !p.present.has(fReqCT) {
			r.h.ReqContentType = p.origMime
		}
		if !p.present.has(fRespCT) {
			r.h.RespContentType = p.respMime
		}
		return r.h
	case r.t != nil:
		t := r.t
		p.leafKey = r.fuid
		if len(t.CertChainFps) > 0 {
			p.leafKey = t.CertChainFps[0]
		}
		p.chain = append(append(append(p.chain[:0], t.CertChainFps...), t.ClientCertChainFps...), r.fuids...)
		if !p.present.has(fCertsEnc) {
			// TLS 1.3 encrypts the certificates: their absence says nothing.
			t.CertsEncrypted = (t.Version == "TLSv13" || t.Version == "DTLSv13") && p.leafKey == ""
		}
		return t
	case r.x != nil:
		x := r.x
		p.certKey = x.Fingerprint
		if p.certKey == "" {
			p.certKey = r.fuid
		}
		if !p.present.has(fSelfSigned) {
			x.SelfSigned = x.Subject != "" && x.Subject == x.Issuer
		}
		return x
	case r.d != nil:
		return r.d
	case r.dh != nil:
		d := r.dh
		if d.UID == "" && len(d.UIDs) > 0 {
			d.UID = d.UIDs[0]
		} else if d.UID != "" && len(d.UIDs) == 0 && !p.present.has(fUIDs) {
			d.UIDs = []string{d.UID} // Zeek before 2.6: one uid per record
		}
		return d
	}
	return nil
}

// completeTLS folds the leaf certificate's x509 record into a TLS event,
// and derives SelfSigned when the log has no self_signed column.
func (p *Parser) completeTLS(t *event.TLS) {
	var leaf *certEntry
	if p.certs != nil && p.leafKey != "" {
		leaf = p.certs.get(p.leafKey)
	}
	if leaf != nil {
		if !p.present.has(fSubject) {
			t.Subject = leaf.subject
		}
		if !p.present.has(fIssuer) {
			t.Issuer = leaf.issuer
		}
		if !p.present.has(fNotBefore) {
			t.NotBefore = leaf.notBefore
		}
		if !p.present.has(fNotAfter) {
			t.NotAfter = leaf.notAfter
		}
	}
	if p.certs != nil {
		// Every certificate of the chains that still waits to be emitted
		// learns which connection it came in.
		for _, k := range p.chain {
			e := p.certs.m[k]
			if e != nil && e.ev != nil && !e.emitted && !e.uidFixed && e.ev.UID == "" {
				e.ev.UID, e.ev.ID = t.UID, t.ID
			}
		}
	}
	if !p.present.has(fSelfSigned) {
		if leaf != nil {
			t.SelfSigned = leaf.selfSigned
		} else {
			t.SelfSigned = t.Subject != "" && t.Subject == t.Issuer
		}
		if p.validation == "self signed certificate" {
			t.SelfSigned = true
		}
	}
}

// connState returns Zeek's conn_state values without a lookup.
func connState(p *Parser, v *value) event.ConnState {
	switch string(v.raw) {
	case "SF":
		return event.StateSF
	case "S0":
		return event.StateS0
	case "S1":
		return event.StateS1
	case "REJ":
		return event.StateREJ
	case "OTH":
		return event.StateOTH
	case "RSTO":
		return event.StateRSTO
	case "RSTR":
		return event.StateRSTR
	case "SH":
		return event.StateSH
	case "S2":
		return event.StateS2
	case "S3":
		return event.StateS3
	case "RSTOS0":
		return event.StateRSTOS0
	case "RSTRH":
		return event.StateRSTRH
	case "SHR":
		return event.StateSHR
	}
	return event.ConnState(p.istr(*v))
}
