package all

import _ "github.com/vigil-ndr/vigil/internal/detect/uncommonport" // Application Protocol on Uncommon Port
