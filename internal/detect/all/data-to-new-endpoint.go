package all

import _ "github.com/vigil-ndr/vigil/internal/detect/exfil" // Unusual External Data to New Endpoint
