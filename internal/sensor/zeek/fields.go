package zeek

// Field identifiers. The ids of the fields every log shares come first; the
// others are per log type. A column of a log maps to an id once per header,
// so the per-line work is a switch on small integers.
const (
	fNone = iota
	fTS
	fUID
	fOrigH
	fOrigP
	fRespH
	fRespP
	fPath // JSON "_path"

	// conn
	fProto
	fService
	fDuration
	fOrigBytes
	fRespBytes
	fConnState
	fMissedBytes
	fHistory
	fOrigPkts
	fOrigIPBytes
	fRespPkts
	fRespIPBytes
	fOrigL2
	fRespL2
	fVLAN

	// http
	fTransDepth
	fMethod
	fHost
	fURI
	fReferrer
	fVersion
	fUserAgent
	fOrigin
	fReqBodyLen
	fRespBodyLen
	fStatusCode
	fStatusMsg
	fOrigMime
	fRespMime
	fReqCT
	fRespCT
	fProxied

	// ssl
	fCipher
	fCurve
	fServerName
	fResumed
	fEstablished
	fNextProto
	fCertFps
	fClientCertFps
	fCertFuids
	fClientCertFuids
	fSubject
	fIssuer
	fJA3
	fJA3S
	fJA4
	fSNIMatches
	fValidation
	fSelfSigned
	fCertsEnc
	fALPN
	fNotBefore
	fNotAfter

	// x509
	fFingerprint
	fFUID
	fCertVersion
	fSerial
	fCertSubject
	fCertIssuer
	fCertNotBefore
	fCertNotAfter
	fKeyAlg
	fSigAlg
	fKeyType
	fKeyLength
	fSANDNS
	fSANIP
	fBasicCA
	fHostCert
	fClientCert

	// dns
	fTransID
	fRTT
	fQuery
	fQClass
	fQType
	fQTypeName
	fRCode
	fRCodeName
	fAA
	fTC
	fRD
	fRA
	fAnswers
	fTTLs
	fRejected

	// dhcp
	fUIDs
	fClientAddr
	fServerAddr
	fMAC
	fHostName
	fClientFQDN
	fDomain
	fRequestedAddr
	fAssignedAddr
	fLeaseTime
	fMsgTypes

	fCount
)

// logType is a Zeek log that Vigil reads.
type logType uint8

const (
	logOther logType = iota
	logConn
	logHTTP
	logSSL
	logX509
	logDNS
	logDHCP
)

var logTypeNames = [...]string{"", "conn", "http", "ssl", "x509", "dns", "dhcp"}

func logTypeOf(path string) logType {
	for i, n := range logTypeNames {
		if i > 0 && n == path {
			return logType(i)
		}
	}
	return logOther
}

var commonFields = map[string]int{
	"ts": fTS, "uid": fUID, "id.orig_h": fOrigH, "id.orig_p": fOrigP,
	"id.resp_h": fRespH, "id.resp_p": fRespP, "_path": fPath,
}

// fieldIDs maps each log type's field names to ids. Names not listed are
// ignored (Zeek adds fields with every release and every package).
var fieldIDs = [...]map[string]int{
	logConn: {
		"proto": fProto, "service": fService, "duration": fDuration,
		"orig_bytes": fOrigBytes, "resp_bytes": fRespBytes, "conn_state": fConnState,
		"missed_bytes": fMissedBytes, "history": fHistory, "orig_pkts": fOrigPkts,
		"orig_ip_bytes": fOrigIPBytes, "resp_pkts": fRespPkts, "resp_ip_bytes": fRespIPBytes,
		"orig_l2_addr": fOrigL2, "resp_l2_addr": fRespL2, "vlan": fVLAN,
	},
	logHTTP: {
		"trans_depth": fTransDepth, "method": fMethod, "host": fHost, "uri": fURI,
		"referrer": fReferrer, "version": fVersion, "user_agent": fUserAgent,
		"origin": fOrigin, "request_body_len": fReqBodyLen, "response_body_len": fRespBodyLen,
		"status_code": fStatusCode, "status_msg": fStatusMsg, "orig_mime_types": fOrigMime,
		"resp_mime_types": fRespMime, "request_content_type": fReqCT,
		"response_content_type": fRespCT, "proxied": fProxied,
	},
	logSSL: {
		"version": fVersion, "cipher": fCipher, "curve": fCurve, "server_name": fServerName,
		"resumed": fResumed, "established": fEstablished, "next_protocol": fNextProto,
		"cert_chain_fps": fCertFps, "client_cert_chain_fps": fClientCertFps,
		"cert_chain_fuids": fCertFuids, "client_cert_chain_fuids": fClientCertFuids,
		"subject": fSubject, "issuer": fIssuer, "ja3": fJA3, "ja3s": fJA3S, "ja4": fJA4,
		"sni_matches_cert": fSNIMatches, "validation_status": fValidation,
		"self_signed": fSelfSigned, "certs_encrypted": fCertsEnc, "client_alpn": fALPN,
		"not_valid_before": fNotBefore, "not_valid_after": fNotAfter,
	},
	logX509: {
		"fingerprint": fFingerprint, "id": fFUID, "certificate.version": fCertVersion,
		"certificate.serial": fSerial, "certificate.subject": fCertSubject,
		"certificate.issuer": fCertIssuer, "certificate.not_valid_before": fCertNotBefore,
		"certificate.not_valid_after": fCertNotAfter, "certificate.key_alg": fKeyAlg,
		"certificate.sig_alg": fSigAlg, "certificate.key_type": fKeyType,
		"certificate.key_length": fKeyLength, "san.dns": fSANDNS, "san.ip": fSANIP,
		"basic_constraints.ca": fBasicCA, "host_cert": fHostCert, "client_cert": fClientCert,
		"self_signed": fSelfSigned,
	},
	logDNS: {
		"proto": fProto, "trans_id": fTransID, "rtt": fRTT, "query": fQuery,
		"qclass": fQClass, "qtype": fQType, "qtype_name": fQTypeName, "rcode": fRCode,
		"rcode_name": fRCodeName, "AA": fAA, "TC": fTC, "RD": fRD, "RA": fRA,
		"answers": fAnswers, "TTLs": fTTLs, "rejected": fRejected,
	},
	logDHCP: {
		"uids": fUIDs, "client_addr": fClientAddr, "server_addr": fServerAddr, "mac": fMAC,
		"host_name": fHostName, "client_fqdn": fClientFQDN, "domain": fDomain,
		"requested_addr": fRequestedAddr, "assigned_addr": fAssignedAddr,
		"assigned_ip": fAssignedAddr, "lease_time": fLeaseTime, "msg_types": fMsgTypes,
		"duration": fDuration,
	},
}

// fieldID returns the id of a field of log type t, or fNone.
func fieldID(t logType, name string) int {
	if id, ok := commonFields[name]; ok {
		return id
	}
	if int(t) < len(fieldIDs) && fieldIDs[t] != nil {
		return fieldIDs[t][name]
	}
	return fNone
}

// fieldSet is a set of field ids.
type fieldSet [2]uint64

func (s *fieldSet) add(id int)      { s[id>>6] |= 1 << (id & 63) }
func (s *fieldSet) has(id int) bool { return s[id>>6]&(1<<(id&63)) != 0 }
func (s *fieldSet) clear()          { s[0], s[1] = 0, 0 }

var _ = [1]struct{}{}[fCount/128] // fieldSet must hold every id
