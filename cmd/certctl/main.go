// Command certctl manages certificates, private keys and a private CA in a
// local vault. See `certctl --help`.
package main

import (
	"os"

	"github.com/certctl/certctl/pkg/app"
)

func main() {
	os.Exit(app.Main())
}
