package all

import _ "github.com/vigil-ndr/vigil/internal/detect/dnstunnel"
