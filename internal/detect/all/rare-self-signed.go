package all

import _ "github.com/vigil-ndr/vigil/internal/detect/selfsigned" // Rare External SSL Self-Signed
