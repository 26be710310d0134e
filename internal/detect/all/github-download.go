package all

import _ "github.com/vigil-ndr/vigil/internal/detect/github" // Anomalous Github Download
