package useragent

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		ua   string
		want Class
	}{
		{"none", "", Empty},
		{"zeek unset", "-", Empty},
		{"windows powershell 5.1", "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3803", PowerShell},
		{"powershell 7 windows", "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.1", PowerShell},
		{"powershell 7 linux", "Mozilla/5.0 (Linux; Ubuntu 22.04.3 LTS; en-US) PowerShell/7.3.6", PowerShell},
		{"azure module", "AzurePowershell/v11.0.0 PSVersion/v7.4.1", PowerShell},
		{"python-requests", "python-requests/2.31.0", Script},
		{"curl", "curl/8.7.1", Script},
		{"wget", "Wget/1.21.4", Script},
		{"go", "Go-http-client/1.1", Script},
		{"java", "Java/1.8.0_51", Script},
		{"winhttp com object", "Mozilla/4.0 (compatible; Win32; WinHttp.WinHttpRequest.5)", Script},
		{"certutil", "CertUtil URL Agent", Script},
		{"chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", Browser},
		{"firefox", "Mozilla/5.0 (X11; Linux x86_64; rv:81.0) Gecko/20100101 Firefox/81.0", Browser},
		{"old ie", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", Browser},
		{"windows update", "Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.50", System},
		{"delivery optimization", "Microsoft-Delivery-Optimization/10.0", System},
		{"cryptoapi", "Microsoft-CryptoAPI/10.0", System},
		{"apt", "Debian APT-HTTP/1.3 (2.6.1)", System},
		{"trustd", "com.apple.trustd/3.0", System},
		{"google update", "Google Update/1.3.36.352;winhttp;cup-ecdsa", System},
		{"crawler", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", Unknown},
		{"invented", "Modzilla/-2.0 (Atari 7800)", Unknown},
		{"winrm is not powershell", "Microsoft WinRM Client", Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Classify(tc.ua), "%q", tc.ua)
			require.Equal(t, tc.want == PowerShell, IsPowerShell(tc.ua))
		})
	}
}

func TestFamily(t *testing.T) {
	a := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Safari/537.36"
	b := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36"
	require.Equal(t, Family(a), Family(b))
	require.Equal(t, FamilyHash(a), FamilyHash(b))
	require.Equal(t, "python-requests/#", Family("python-requests/2.31.0"))
	require.NotEqual(t, FamilyHash("python-requests/2.31.0"), FamilyHash("curl/8.7.1"))
	require.NotEqual(t, FamilyHash(a), FamilyHash(""))
	require.Equal(t, "python-requests", Product("python-requests/2.31.0"))
	require.Equal(t, "Mozilla", Product(a))
}
