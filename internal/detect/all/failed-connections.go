package all

import _ "github.com/vigil-ndr/vigil/internal/detect/failedconns" // Large Number of Suspicious Failed Connections
