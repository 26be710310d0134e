package all

import _ "github.com/vigil-ndr/vigil/internal/detect/beacon" // Beaconing Activity To External Rare
